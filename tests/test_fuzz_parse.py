"""Property-based fuzzing of reading, parsing and chunking (hypothesis).

Random bytes, random text in several encodings, random sizes and random HTML-ish markup. Whatever
the input: the only exception is the project's ``InputError``; every passage and sentence offset
points into the text and gives back the stored text; passages cover the body, in order, without
overlap, with nothing but blanks between them; the output is deterministic; and parse_text and
the chunker give exactly what their reference copies from before the linear rewrite give
(``test_parse.v1_parse_text``, ``test_chunk.v2_chunk_document``). Hidden HTML never reaches the text,
by trafilatura or the fallback.

Examples are drawn deterministically (``derandomize``), so CI sees the same inputs every run;
``FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 pytest tests/test_fuzz_parse.py`` explores further.
"""

from __future__ import annotations

import codecs
import os
import random

import pytest
from conftest import SEEDS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_chunk import v2_chunk_document, v2_split_sentences
from test_parse import v1_parse_text

from rag.chunk import chunk_document, split_sentences
from rag.errors import InputError
from rag.parse import decode_text, html_to_text, parse_file, parse_text, visible_text
from rag.types import Document, Passage

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))


def fuzz(share: float = 1.0) -> settings:
    return settings(max_examples=max(1, int(EXAMPLES * share)), deadline=3000, database=None,
                    derandomize=not os.environ.get("FUZZ_RANDOM"),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- Strategies ---------------------------------------------------------------------------------------------------

# Pieces that steer the splitter and the header reader into their corners: end marks and their runs, quotes,
# abbreviations, ordinals before months, datelines, date lines, captions with credits, blank and CR lines.
PIECES = [
    ". ", "! ", "? ", "… ", "...", "?!", ".\" ", "“ ", "„", "» ", "«", "’", ") ", "(", "[", ", ", ": ", " - ", " – ",
    "\n", "\n\n", "\n \n", "\r\n", "\t", "  ", " ", "Dr. ", "Prof. ", "z. B. ", "St. ", "ca. ", "usw. ", "9. ",
    "August ", "1. Mai ", "2. Platz ", "1991 ", "80,1 ", "Der ", "die ", "und ", "Lukaschenko ", "Über ", "Straße ",
    "the ", "and ", "people ", "take part ", "in ", "MINSK (dpa) - ", "MOSKAU (dpa-AFX) - ", "date 2020-09 ",
    "(Zusammenfassung) ", "REUTERS/Vasily Fedosenko", " AP/Sergei Grits", "August 16, 2020 ", "A", "b", "Ö", "0",
    "#", "€",
]
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßABCDÄÖÜXYZ0123456789", min_size=1, max_size=9)
article_text = st.lists(st.one_of(st.sampled_from(PIECES), words, st.text(max_size=4)), max_size=250).map("".join)
"""Article-like text, with some arbitrary Unicode mixed in."""

clean_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co"), blacklist_characters="\ufeff"),
    max_size=400,
)
"""Any text without control characters, surrogates or private use (which the text check refuses)."""

def _seed_sentences() -> list[str]:
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        doc = parse_text(path.stem, path.read_text(encoding="utf-8"))
        out += [s.text for s in split_sentences(doc.text, doc.body_start)]
    return out


SEED_SENTENCES = _seed_sentences()
seed_prose = st.lists(st.sampled_from(SEED_SENTENCES), min_size=1, max_size=30).map(" ".join)
"""German news prose: the seeds' sentences (umlauts, ß, „quotes“, dashes) in random order and number."""


# --- Invariants ---------------------------------------------------------------------------------------------------

def check_chunks(doc: Document, passages: list[Passage], first_id: int = 0) -> None:
    text = doc.text
    assert 0 <= doc.body_start <= len(text)
    assert [p.passage_id for p in passages] == list(range(first_id, first_id + len(passages)))
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    cursor = doc.body_start
    for p in passages:
        assert p.doc_id == doc.doc_id
        assert cursor <= p.start < p.end <= len(text)
        assert text[p.start:p.end] == p.text
        assert text[cursor:p.start].strip() == ""  # only blanks between passages: nothing of the body is lost
        assert p.sentences and p.sentences[0].start == p.start and p.sentences[-1].end == p.end
        s_cursor = p.start
        for s in p.sentences:
            assert s_cursor <= s.start < s.end <= p.end
            assert text[s.start:s.end] == s.text and s.text == s.text.strip()
            assert text[s_cursor:s.start].strip() == ""
            s_cursor = s.end
        cursor = p.end
    assert text[cursor:].strip() == ""


def check_document(doc: Document, max_chars: int) -> list[Passage]:
    passages = chunk_document(doc, max_chars, first_id=3)
    check_chunks(doc, passages, first_id=3)
    assert chunk_document(doc, max_chars, first_id=3) == passages  # deterministic
    return passages


# --- Text ---------------------------------------------------------------------------------------------------------

@fuzz(share=1.3)
@given(text=article_text, max_chars=st.sampled_from([1, 40, 120, 500, 5000]))
def test_parse_and_chunk_random_text(text: str, max_chars: int) -> None:
    try:
        doc = parse_text("x", text)
    except InputError:
        assert not text.strip()
        with pytest.raises(InputError):
            v1_parse_text("x", text)
        return
    assert doc == v1_parse_text("x", text)
    assert doc == parse_text("x", text)
    passages = check_document(doc, max_chars)
    assert passages == v2_chunk_document(doc, max_chars, first_id=3)


@fuzz()
@given(text=article_text, data=st.data())
def test_split_sentences_of_random_ranges(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    got = split_sentences(text, start, end)
    assert got == v2_split_sentences(text, start, end)
    cursor = start
    for s in got:
        assert cursor <= s.start < s.end <= end
        assert text[s.start:s.end] == s.text and text[cursor:s.start].strip() == ""
        cursor = s.end
    assert text[cursor:end].strip() == ""


# --- Bytes and encodings ------------------------------------------------------------------------------------------

def decoded_or_refused(data: bytes) -> str | None:
    try:
        text = decode_text(data, "f.txt")
    except InputError as exc:
        message = str(exc)
        assert message.startswith("f.txt") and "\n" not in message
        return None
    assert isinstance(text, str)
    return text


@fuzz(share=1.3)
@given(data=st.binary(max_size=3000), max_chars=st.sampled_from([60, 500]))
def test_random_bytes_are_read_or_refused(data: bytes, max_chars: int) -> None:
    text = decoded_or_refused(data)
    if text is not None and text.strip():
        check_document(parse_text("x", text), max_chars)


@fuzz(share=0.3)
@given(size=st.integers(1_000, 60_000), seed=st.integers(0, 2**32), nul=st.booleans())
def test_random_bytes_of_any_size_are_refused(size: int, seed: int, nul: bool) -> None:
    """Uniform random bytes, with NUL or without (20 KB of those were indexed as 53 passages)."""
    rng = random.Random(seed)
    data = bytes(rng.randrange(0 if nul else 1, 256) for _ in range(size))
    with pytest.raises(InputError, match="is not a text file"):
        decode_text(data, "f.txt")


@fuzz()
@given(text=clean_text, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32",
                                                   "utf-32-be"]))
def test_unicode_text_comes_back_whole_in_every_utf(text: str, encoding: str) -> None:
    bom = {"utf-16-be": codecs.BOM_UTF16_BE, "utf-32-be": codecs.BOM_UTF32_BE}.get(encoding, b"")
    assert decode_text(bom + text.encode(encoding), "f.txt") == text


@fuzz(share=0.7)
@given(text=seed_prose, encoding=st.sampled_from(["cp1252", "latin-1"]))
def test_german_prose_in_legacy_code_pages_is_read_right(text: str, encoding: str) -> None:
    if encoding == "latin-1":
        text = "".join(c if ord(c) < 256 else '"' for c in text)  # Latin-1 has no „“ or dashes
    data = text.encode(encoding)
    assume(not data.isascii())
    assert decode_text(data, "f.txt") == text


@fuzz()
@given(text=st.one_of(clean_text, article_text),
       encoding=st.sampled_from(["utf-8", "utf-16", "utf-16-le", "latin-1", "cp1252", "cp1251", "koi8-r"]),
       suffix=st.sampled_from([".txt", ".md", ".html"]), tail=st.binary(max_size=40))
def test_parse_file_on_random_files(tmp_path_factory: pytest.TempPathFactory, text: str, encoding: str,
                                    suffix: str, tail: bytes) -> None:
    """Text in some encoding, sometimes with garbage bytes at the end: a document or a one-line InputError."""
    path = tmp_path_factory.mktemp("fuzz") / f"artikel{suffix}"
    path.write_bytes(text.encode(encoding, errors="replace") + tail)
    try:
        doc = parse_file(path)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert doc == parse_file(path)
    check_document(doc, 120)


# --- HTML ---------------------------------------------------------------------------------------------------------

MARK = "PLANTEDINSTRUCTION"
HIDING = ["hidden", 'hidden="hidden"', 'style="display:none"', 'style="color: red; visibility: hidden"',
          'aria-hidden="true"', 'style="opacity:0"', 'style="font-size: 0px !important"']
SHOWING = ["", 'class="x"', 'style="color:red"', 'aria-hidden="false"', 'title="t"', 'style="opacity:0.9"']


@st.composite
def html_tree(draw: st.DrawFn, depth: int = 0, hidden: bool = False, phrasing: bool = False) -> tuple[str, list[str]]:
    """(markup, the words a reader sees in it); every text under a hidden element is the planted marker."""
    def text() -> tuple[str, list[str]]:
        if hidden:
            return f" {MARK} ", []
        ws = draw(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöü", min_size=2, max_size=8), max_size=4))
        return " " + " ".join(ws) + " ", ws

    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return text()
    kinds = ["span", "b", "em", "a", "br", "img"] if phrasing else [
        "span", "b", "div", "section", "article", "p", "ul", "h1", "h2", "template", "script", "style", "noscript",
        "nav", "footer", "dialog", "br", "img"]
    tag = draw(st.sampled_from(kinds))
    attr = draw(st.sampled_from(HIDING + SHOWING * 2))
    if tag in ("br", "img"):
        return f"<{tag} {attr}>", []
    hides = (attr in HIDING or tag in ("template", "script", "style", "noscript", "nav", "footer", "dialog")
             or hidden)
    if tag in ("script", "style"):
        return f"<{tag} {attr}>var x = '{MARK}';</{tag}>", []
    children = []
    seen: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if tag == "ul":
            inner, ws = draw(html_tree(depth + 1, hides))
            li_attr = draw(st.sampled_from(HIDING + SHOWING * 2))
            if li_attr in HIDING and not hides:
                inner, ws = f" {MARK} ", []
            children.append(f"<li {li_attr}>{inner}</li>")
        else:
            inner, ws = draw(html_tree(depth + 1, hides, phrasing or tag in ("p", "span", "b", "em", "a", "h1", "h2")))
            children.append(inner)
        seen += ws
    return f"<{tag} {attr}>{''.join(children)}</{tag}>", ([] if hides else seen)


@fuzz()
@given(tree=st.lists(html_tree(), min_size=1, max_size=5))
def test_hidden_html_never_reaches_the_text(tree: list[tuple[str, list[str]]]) -> None:
    """The fallback shows every visible word and no hidden one; trafilatura's article (``html_to_text``)
    only leaves words out of it."""
    page = "<html><head><title>Titel</title></head><body>" + "".join(m for m, _ in tree) + "</body></html>"
    everything, fallback_title = visible_text(page)
    assert MARK not in everything and MARK not in fallback_title, page
    shown = everything.split()
    for _, ws in tree:
        for w in ws:
            assert w in shown, (w, page)
    text, title = html_to_text(page)
    assert MARK not in text and MARK not in title, page
    assert set(text.split()) <= set(shown), page
    if text.strip():
        check_document(parse_text("x", text, title_hint=title), 200)


html_soup = st.lists(st.one_of(
    st.sampled_from(["<", ">", "</", "/>", "<!--", "-->", "<!", "<?", "<![CDATA[", "]]>", "&", "&amp;", "&#x41;",
                     "&#99999999;", "&nbsp", "<p>", "</p>", "<div hidden>", "</div>", "<li>", "<template>",
                     "</template>", "<script>", "</script>", "<style>", '<span style="display:none">', "</span>",
                     "<br/>", "<img hidden>", "<dialog open>", "<title>", "</title>", "<h1>", "</h1>", "\n", " ",
                     '"', "'", "=", "hidden", "Satz. ", "Noch einer! "]),
    st.text(max_size=6)), max_size=120).map("".join)


@fuzz()
@given(soup=html_soup)
def test_random_markup_never_breaks_the_extractor(soup: str) -> None:
    for extract in (visible_text, html_to_text):
        text, title = extract(soup)
        assert isinstance(text, str) and isinstance(title, str)
        assert (text, title) == extract(soup)
        if text.strip():
            check_document(parse_text("x", text, title_hint=title), 120)
