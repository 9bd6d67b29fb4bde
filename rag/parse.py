"""Read article files (.txt, .md, .html) into ``Document`` records.

News files carry their metadata in the text itself: a leading ``date YYYY-MM``
line, a dateline with the agency (``MOSKAU (dpa-AFX) -``), sometimes a headline
line and, on wire photos, an English caption with a photo credit. We pull these
out so answers can say who reported what and when, and so a caption is never
mistaken for body text.

Files come from people nobody vetted, so reading is strict: the encoding is
detected, not guessed (``decode_text``), bytes that decode to no readable text
are refused, and HTML that a browser would not show is not indexed. Parsing
runs in time linear in the file's size.

A web page is read by its article (``read_html``): trafilatura finds the body
among menus, teasers, comments and footers in the page's visible markup, and
its metadata give title, date and site name; the hand-written extractor's
visible text is the fallback.
"""

from __future__ import annotations

import codecs
import contextlib
import html
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import islice
from pathlib import Path
from typing import Any

from rag.chunk import PARAGRAPH
from rag.errors import InputError
from rag.language import MONTH_NAMES
from rag.types import Document, text_digest

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")

_DATE_LINE = re.compile(r"\A\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)[ \t]*")
_DATELINE = re.compile(
    r"(?P<dateline>[A-ZÄÖÜ][\wÄÖÜäöüß./\- ]{1,60}?)\s*\((?P<agency>[A-Za-z][A-Za-z\-./ ]{1,24})\)\s*[-–—]\s*"
)
_CREDIT = re.compile(r"(?:REUTERS|AFP|AP|DPA|EPA|Reuters)/[A-Z][\w.\- ]+\s*$")
"""A photo credit ending a caption ("REUTERS/Vasily Fedosenko"); ``_ends_with_credit`` tests for it."""
_AGENCIES = ("REUTERS", "AFP", "AP", "DPA", "EPA", "Reuters")
_CREDIT_NAME = re.compile(r"[\w.\- ]+")
# The run of credit-name characters and blanks that ends a text, tried only from where such a run begins.
_CREDIT_TAIL = re.compile(r"(?<![\w.\- \s])[\w.\- \s]*+\Z")
_EN_DATE = re.compile(rf"\b({'|'.join(MONTH_NAMES['en'])})\s+\d{{1,2}},\s+(\d{{4}})")
_MONTHS = {m: i for i, m in enumerate(MONTH_NAMES["en"], 1)}
_EN_WORDS = {"the", "and", "of", "in", "a", "to", "for", "against", "take", "part", "people", "is", "are"}
_DE_WORDS = {"der", "die", "das", "und", "nicht", "mit", "sich", "ist", "ein", "eine", "den", "von", "zu", "auf"}


def _whole_words(words: set[str]) -> re.Pattern[str]:
    """Any of ``words`` standing as a whole run of the letters a-z, ä, ö, ü and ß."""
    return re.compile(rf"(?<![a-zäöüß])(?:{'|'.join(sorted(words))})(?![a-zäöüß])")


_EN_WORD = _whole_words(_EN_WORDS)
_DE_WORD = _whole_words(_DE_WORDS)


def english_share(text: str) -> float:
    """Share of English among the English and German marker words of ``text`` (0.5 if under three).

    Words are runs of a-z, ä, ö, ü, ß after lower-casing; the markers are counted where they stand,
    without a list of every word (a one-paragraph file of 30 MB would need gigabytes for it).
    """
    low = text.lower()
    en = sum(1 for _ in _EN_WORD.finditer(low))
    de = sum(1 for _ in _DE_WORD.finditer(low))
    if en + de < 3:
        return 0.5
    return en / (en + de)


def _ends_with_credit(para: str) -> bool:
    """Whether ``_CREDIT.search(para)`` matches, in time linear in ``para``.

    The regex itself backtracks through a long run of blanks once per character of it. Everything
    after the credit's slash is in ``_CREDIT_TAIL``'s class and the slash is not, so a match has
    its slash just before ``para``'s final run of that class, an agency before the slash, and after
    it a capital and a name (``_CREDIT_NAME``) that reaches the last non-blank character (or,
    when only blanks follow the capital, begins with a space).
    """
    tail = _CREDIT_TAIL.search(para)
    t = tail.start() if tail else len(para)
    if t == 0 or para[t - 1] != "/" or not para.endswith(_AGENCIES, 0, t - 1):
        return False
    if t == len(para) or not "A" <= para[t] <= "Z":
        return False
    name_end = len(para.rstrip())
    if name_end <= t + 1:
        return para[t + 1:t + 2] == " "
    return _CREDIT_NAME.fullmatch(para, t + 1, name_end) is not None


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"})
"""Elements without content or end tag."""
_CLOSES_P = frozenset({"address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
                       "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
                       "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul"})
"""Start tags that end an open <p>, as in a browser."""
_CLOSES_SIBLING = {"li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "option": {"option"},
                   "tr": {"tr", "td", "th"}, "td": {"td", "th"}, "th": {"td", "th"}}
"""Start tags that end an open element of these kinds (a new list item ends the one before)."""
_HIDING_STYLE = re.compile(
    r"(?:^|;)(?:display:none|visibility:(?:hidden|collapse)|content-visibility:hidden"
    r"|opacity:(?:0+(?:\.0*)?|\.0+)%?|font-size:(?:0+(?:\.0*)?|\.0+)(?:[a-z]+|%)?)(?:!important)?(?:;|$)"
)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def _hides(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """Whether a browser shows nothing of this element: the ``hidden`` attribute, ``aria-hidden="true"``,
    an inline style with display:none, visibility:hidden or collapse, opacity:0 or font-size:0, or a
    <dialog> that is not open."""
    for name, value in attrs:
        if name == "hidden":
            return True
        if name == "aria-hidden" and (value or "").strip().lower() == "true":
            return True
        if name == "style" and value:
            css = re.sub(r"\s+", "", _CSS_COMMENT.sub("", value)).lower()
            if _HIDING_STYLE.search(css):
                return True
    return tag == "dialog" and all(name != "open" for name, _ in attrs)


_COMMENT_END = re.compile(r"--!?>")
_TAG_NAME = re.compile(r"[a-z][a-z0-9-]*")
_ATTR_NAME = re.compile(r"[a-z_:][-a-z0-9_:.]*")


class _TextExtractor(HTMLParser):
    """Visible text of an HTML page, one paragraph per block element, and the page's visible markup.

    What a browser would not show is dropped with everything inside it: script, style, template
    and noscript, navigation and footers, and every hidden element (``_hides``). Articles come
    from people nobody vetted, and hidden elements are where a page plants text no reader sees
    (instructions to the model, say). Open elements are kept on a stack, so a hidden element ends
    at its own end tag or at its parent's, as in a browser; "/>" on an element that is not void
    is ignored, as in a browser. Comments end as in a browser too (``parse_comment``). Styles from
    <style> sheets and classes are not evaluated.

    ``markup`` is the page again with exactly that left out: the visible elements' tags (with
    their attributes, so class names still tell a teaser from the article) and text, every
    element closed where the stack closed it. Main-content extraction (``read_html``) reads this
    markup, never the page itself, so it cannot find text this extractor hid, however its own
    HTML parser would have built the tree.
    """

    _BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr", "section", "article", "header", "figcaption"}
    _DROP = {"script", "style", "nav", "footer", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.markup: list[str] = []
        self.title = ""
        self.h1 = ""
        # open elements: tag, whether it hides its content, whether its start tag is in ``markup``
        self._open: list[tuple[str, bool, bool]] = []
        self._depth: dict[str, int] = {}  # how many elements of each tag are open
        self._hiding = 0  # how many open elements hide their content
        self._in: str | None = None
        self._closing = False
        self.tags = 0  # start tags read

    def _push(self, tag: str, hides: bool, shown: bool) -> None:
        self._open.append((tag, hides, shown))
        self._depth[tag] = self._depth.get(tag, 0) + 1
        self._hiding += hides

    def _pop(self) -> tuple[str, bool]:
        tag, hides, shown = self._open.pop()
        self._depth[tag] -= 1
        self._hiding -= hides
        if shown:
            self.markup.append(f"</{tag}>")
        return tag, hides

    def _start_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        out = [tag]
        for name, value in attrs:
            if _ATTR_NAME.fullmatch(name):
                out.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
        return "<" + " ".join(out) + ">"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if tag in _CLOSES_P and self._open and self._open[-1][0] == "p":
            self._pop()
        while self._open and self._open[-1][0] in _CLOSES_SIBLING.get(tag, ()):
            self._pop()
        hides = tag not in _VOID and (tag in self._DROP or _hides(tag, attrs))
        visible = not self._hiding and not hides and not (tag in _VOID and _hides(tag, attrs))
        shown = visible and _TAG_NAME.fullmatch(tag) is not None
        if shown:
            self.markup.append(self._start_tag(tag, attrs))
        if tag in self._BLOCKS and not self._hiding and not hides:
            self.parts.append("\n\n")
        if tag in _VOID:
            return
        self._push(tag, hides, shown)
        if tag in ("title", "h1") and not self._hiding:
            self._in = tag

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        hidden = False
        if self._depth.get(tag):
            while True:
                closed, hidden = self._pop()
                if closed == tag:
                    break
        if self._in and not self._depth.get(self._in):  # its end tag, or its parent's
            self._in = None
        if tag in self._BLOCKS and not self._hiding and not hidden:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._hiding:
            return
        self.markup.append(html.escape(data, quote=False))
        if self._in == "title":
            self.title += data
            return
        if self._in == "h1":
            self.h1 += data
        self.parts.append(data)

    def parse_comment(self, i: int, report: int = 1) -> int:
        """A comment ends where a browser ends it: at the first "-->" or "--!>" ("<!-->" and "<!--->"
        are empty), or, unclosed, with the page. Python's parser before 3.13.4 also ended it at
        "-- >" and showed an unclosed one as text, so what a browser keeps in a comment was read as
        page text (a real news page: script in a comment, "o-- >0" in the script)."""
        raw = self.rawdata
        start = i + 4
        for abrupt in (">", "->"):
            if raw.startswith(abrupt, start):
                return start + len(abrupt)
        m = _COMMENT_END.search(raw, start)
        if m is None:
            return len(raw) if self._closing else -1  # unclosed: wait for more, or the page ends in it
        return m.end()

    def close(self) -> None:
        self._closing = True
        super().close()
        while self._open:  # what is still open ends with the page
            self._pop()


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _extract(raw: str) -> _TextExtractor:
    parser = _TextExtractor()
    parser.feed(raw)
    parser.close()
    return parser


def _fallback(parser: _TextExtractor) -> tuple[str, str]:
    return _tidy("".join(parser.parts)), html.unescape((parser.h1 or parser.title).strip())


def visible_text(raw: str) -> tuple[str, str]:
    """Every visible line of an HTML page and its title (the <h1>, else the <title>): the fallback
    of ``read_html``, which keeps navigation, teasers and footers that are not <nav> or <footer>."""
    return _fallback(_extract(raw))


@dataclass(frozen=True)
class HtmlPage:
    """What ``read_html`` makes of a page: the article's text (paragraphs split by blank lines),
    its title, date (YYYY-MM-DD) and site name, and which extractor gave the text."""

    text: str
    title: str
    date: str | None = None
    site: str | None = None
    extractor: str = "fallback"  # or "trafilatura"


MAX_ARTICLE_ELEMENTS = 50_000
"""Pages with more elements (start tags) skip trafilatura, about 60 µs an element with its metadata,
for the fallback, about 4 µs. The largest of trafilatura's 106 test pages has 4,634; a made-up page
of 320,000 took 25 s."""
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_SITE_CHARS, _MAX_SITE_WORDS = 40, 5
_TEI_BLOCKS = frozenset({"body", "p", "head", "item", "list", "quote", "table", "row", "code", "div"})


def read_html(raw: str) -> HtmlPage:
    """The article of an HTML page: its main text by trafilatura, else every visible line.

    1. The page's visible markup (``_TextExtractor.markup``: hidden elements, scripts, navigation
       and footers already left out) goes to ``trafilatura.bare_extraction``, favouring
       precision: the article body without teaser lists, comments, cookie notes and page
       furniture. Its paragraphs, list items and subheadings become paragraphs.
    2. Title, date and site name come from trafilatura's metadata of the page itself (meta tags
       and JSON-LD, which the visible markup lacks). The title is indexed, so it is taken only
       when a reader sees it (in the visible text or <title>); else the <h1>, else the <title>.
       The date is the earlier of htmldate's publication date and its latest date (a CMS that
       re-imported an article stamps its meta tags with the import day, while the article
       still shows its own). The site name is cut at its first comma ("SPIEGEL ONLINE, Hamburg,
       Germany") and dropped when longer than a name.
    3. When trafilatura raises or finds no text, the text is every visible line (``visible_text``);
       metadata that failed are left out. A page of more than ``MAX_ARTICLE_ELEMENTS`` elements is
       read by the fallback alone, title included.
    """
    parser = _extract(raw)
    fallback_text, fallback_title = _fallback(parser)
    if parser.tags > MAX_ARTICLE_ELEMENTS:
        return HtmlPage(text=fallback_text, title=fallback_title)
    text = _main_text("".join(parser.markup))
    title, date, site = _metadata(raw)
    if title and not _is_visible(title, fallback_text, parser.title):
        title = None
    return HtmlPage(text=text or fallback_text, title=title or fallback_title, date=date, site=site,
                    extractor="trafilatura" if text else "fallback")


def html_to_text(raw: str) -> tuple[str, str]:
    """The article text and title of an HTML page (``read_html``)."""
    page = read_html(raw)
    return page.text, page.title


def _main_text(markup: str) -> str:
    """The article body trafilatura finds in ``markup``, paragraphs split by blank lines ("" if none).

    A missing or broken trafilatura install is an error (it is a dependency); only its extraction
    failing on a page falls back.
    """
    import trafilatura

    quiet = logging.getLogger("trafilatura")
    if quiet.level == logging.NOTSET:  # a page without an article is a warning there, the fallback here
        quiet.setLevel(logging.ERROR)
    try:
        doc = trafilatura.bare_extraction(markup, favor_precision=True, include_comments=False, include_tables=True,
                                          include_images=False, include_links=False, with_metadata=False)
        body = getattr(doc, "body", None)
        return "" if body is None else _tei_text(body)
    except Exception:  # any failure of the extractor leaves the fallback
        return ""


def _tei_text(body: Any) -> str:
    """Text of trafilatura's body tree: a blank line around each block, a line break for <lb>,
    the page's own line breaks inside a paragraph as blanks."""
    from lxml import etree

    out: list[str] = []

    def add(s: str | None) -> None:
        if s:
            out.append(re.sub(r"[ \t\n\r\f\v]+", " ", s))

    for event, el in etree.iterwalk(body, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""  # comments and processing instructions: ""
        if event == "start":
            if tag in _TEI_BLOCKS:
                out.append("\n\n")
            elif tag == "lb":
                out.append("\n")
            elif tag == "cell":
                out.append(" ")
            if tag and tag != "graphic":
                add(el.text)
        else:
            if tag in _TEI_BLOCKS:
                out.append("\n\n")
            if el is not body:
                add(el.tail)
    return _tidy("".join(out))


def _metadata(raw: str) -> tuple[str | None, str | None, str | None]:
    """Title, date (YYYY-MM-DD) and site name of a page by trafilatura and htmldate; None where they fail."""
    import trafilatura
    from htmldate import find_date
    from trafilatura.utils import load_html

    try:
        tree = load_html(raw)
        if tree is None:
            return None, None, None
        meta = trafilatura.extract_metadata(tree)
    except Exception:
        return None, None, None
    title = _one_line(meta.title)
    dates = [d for d in (meta.date,) if d and _ISO_DAY.fullmatch(d)]
    try:
        latest = find_date(tree, original_date=False, extensive_search=True)
    except Exception:
        latest = None
    if latest and _ISO_DAY.fullmatch(latest):
        dates.append(latest)
    site = _one_line((meta.sitename or "").split(",", 1)[0])
    if site and (len(site) > _MAX_SITE_CHARS or len(site.split()) > _MAX_SITE_WORDS):
        site = None
    return title, min(dates) if dates else None, site


def _one_line(s: str | None) -> str | None:
    s = " ".join((s or "").split())
    return s if s and not _CONTROL.search(s) else None


def _is_visible(title: str, text: str, page_title: str) -> bool:
    """Whether ``title`` stands in the visible text or <title> (blanks and case aside)."""
    def norm(s: str) -> str:
        return " ".join(html.unescape(s).split()).casefold()

    t = norm(title)
    return t in norm(text) or t in norm(page_title)


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_text(data, str(path))


# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
"""Characters written text does not contain: C0 and C1 controls (tab, line and page breaks aside)
and the private use area. (U+FFFD is left alone: it marks text damaged by an earlier conversion,
which is still text.)"""
_TOKEN = re.compile(r"\S+")
_SAMPLE_WINDOWS, _SAMPLE_CHARS = 16, 4096
MAX_CONTROL_SHARE = 0.01
MIN_WORD_SHARE = 0.5


def decode_text(data: bytes, name: str = "input") -> str:
    """The text of a file's bytes, or ``InputError`` when they are not text.

    In this order: a byte-order mark (UTF-8, UTF-16 or UTF-32, LE or BE) decides; NUL bytes
    without one mean binary data; strict UTF-8; else a legacy code page (``_legacy``). Any
    single-byte code page decodes any bytes, so a detected one must also pass ``text_problem``;
    BOM and UTF-8 text, whose encoding is certain, need only pass its control-character test.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"{name} is not a text file: it starts with a {encoding} byte-order mark "
                                 f"but byte {exc.start + len(bom)} is not {encoding}") from None
            return _checked(text, name, encoding, words=False)
    if b"\x00" in data[:4096]:
        raise InputError(f"{name} is not a text file (it has NUL bytes; UTF-16 or UTF-32 text needs a "
                         f"byte-order mark)")
    try:
        return _checked(data.decode("utf-8"), name, "utf-8", words=False)
    except UnicodeDecodeError:
        pass
    encoding, text = _legacy(data, name)
    return _checked(text, name, encoding, words=True)


def _legacy(data: bytes, name: str) -> tuple[str, str]:
    """The code page and text of bytes that are not UTF-8.

    charset-normalizer ranks code pages by the chaos of their decoding (odd symbols, mixed
    scripts and case, controls). On a short text many tie at no chaos and its first pick is
    often wrong: "Gespräch" in Windows-1252 comes out as Farsi (cp1006), a French sentence as
    Baltic (cp1257), a Polish one as Windows-1252, and "Öl" as Chinese (Big5), with no single-byte
    code page offered at all. So Windows-1252 (the Western European default, which also reads
    Latin-1) joins the least chaotic candidates whenever its own chaos is as low (or there are
    none), and among them wins the one with the largest share of plausible words
    (``_word_share``), then Windows-1252, then charset-normalizer's order. UTF-16 and UTF-32 count
    only with a byte-order mark: without one, any even number of bytes reads as UTF-16, mostly
    as Chinese characters.
    """
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    matches = [m for m in from_bytes(data) if not m.encoding.startswith(("utf_16", "utf_32"))]
    floor = min((m.chaos for m in matches), default=0.0)
    tied = [m for m in matches if m.chaos <= floor]
    encodings = [m.encoding for m in tied if "cp1252" not in m.could_be_from_charset]
    western = None
    if len(encodings) < len(tied):
        encodings.append("cp1252")
    else:
        with contextlib.suppress(UnicodeDecodeError):
            western = data.decode("cp1252")
        if western is not None and (not tied or mess_ratio(_sample(western), maximum_threshold=1.0) <= floor):
            encodings.append("cp1252")
    chosen: tuple[float, bool, str, str] | None = None
    for encoding in encodings:
        try:  # a large file is detected from samples: the whole may still fail to decode
            text = western if encoding == "cp1252" and western is not None else str(data, encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        rank = (_word_share(_sample(text)), encoding == "cp1252", encoding, text)
        if chosen is None or rank[:2] > chosen[:2]:
            chosen = rank
    if chosen is None:
        raise InputError(f"{name} is not a text file: its bytes are not UTF-8 and no legacy encoding "
                         f"turns them into readable text")
    return chosen[2], chosen[3]


def _checked(text: str, name: str, encoding: str, words: bool) -> str:
    problem = text_problem(text, words)
    if problem:
        raise InputError(f"{name} is not a text file: read as {encoding}, {problem}")
    return text


def _sample(text: str) -> str:
    """``text`` if short, else ``_SAMPLE_WINDOWS`` evenly spread windows of it, joined by blanks."""
    if len(text) <= _SAMPLE_WINDOWS * _SAMPLE_CHARS:
        return text
    step = (len(text) - _SAMPLE_CHARS) // (_SAMPLE_WINDOWS - 1)
    return " ".join(text[i * step:i * step + _SAMPLE_CHARS] for i in range(_SAMPLE_WINDOWS))


def text_problem(text: str, words: bool = True) -> str | None:
    """Why ``text`` does not read as written language, or None; judged on up to 64K characters.

    - Control characters (``_CONTROL``) must stay under ``MAX_CONTROL_SHARE`` (1 %) of the
      characters. Prose has none; a stray form feed or two from an old editor pass. Random bytes
      read in a single-byte code page are 10 % (cp1250/1251: C0 codes, DEL) to 23 % (Latin-1,
      which adds the C1 codes) control characters, so 1 % is far from both.
    - With ``words``, at least ``MIN_WORD_SHARE`` (half) of the blank-separated tokens that hold a
      letter or digit must be plausible words (``_plausible``): each run between punctuation marks
      all letters (and marks) of one case pattern (``der``, ``Der``, ``DER``, and caseless scripts)
      or all digits. News prose scores near 1 (each seed: 1.00, with its numbers, abbreviations,
      ``dpa-AFX`` and ``80,1``); a Chinese or Japanese line without blanks is one token and
      passes, its punctuation splitting it. 20 KB of random bytes read in Latin-1, cp1250-1253,
      KOI8-R or Mac Roman score 0.06 to 0.10: blanks are 1 % to 3 % of random bytes, so their
      "words" are dozens of characters long and hold symbols, controls and mixed case. Half is
      far from both, so neither lists, tables and URLs nor a short file flip the verdict.
    """
    sample = _sample(text)
    if not sample:
        return None
    controls = len(_CONTROL.findall(sample))
    if controls > MAX_CONTROL_SHARE * len(sample):
        return f"{controls / len(sample):.0%} of its characters are control characters"
    if words:
        share = _word_share(sample)
        if share < MIN_WORD_SHARE:
            return f"only {share:.0%} of its words look like words"
    return None


def _word_share(sample: str) -> float:
    """Share of plausible words among the blank-separated tokens that hold a letter or digit (1 if none)."""
    tokens = [t for t in _TOKEN.findall(sample) if any(c.isalnum() for c in t)]
    return sum(_plausible(t) for t in tokens) / len(tokens) if tokens else 1.0


def _plausible(token: str) -> bool:
    """A word, number or compound of them (``dpa-AFX``, ``80,1``, ``U.S.``, ``1990er``, ``„Zitat“``).

    Each run between punctuation marks holds letters (with their marks) and digits only, its
    letters in one case pattern and of one script: "Gespr䡡h" or "ﾖl", a German word read in a
    Chinese or Japanese code page, mixes scripts.
    """
    part = ""
    for c in token + " ":
        cat = unicodedata.category(c)
        if cat[0] in "LMN" or c == "\ufffd":  # U+FFFD: a letter lost by an earlier conversion
            part += c
            continue
        if cat == "Cf":  # soft hyphen, zero-width joiners, direction marks: invisible inside words
            continue
        if cat[0] not in "PZ":  # a symbol or control inside a word
            return False
        if part and not (_one_case(part) and _one_script(part)):
            return False
        part = ""
    return True


def _one_case(part: str) -> bool:
    return part in (part.lower(), part.upper(), part.capitalize())


_SCRIPTS = {"LATIN": "Latin", "CYRILLIC": "Cyrillic", "GREEK": "Greek", "ARMENIAN": "Armenian", "HEBREW": "Hebrew",
            "ARABIC": "Arabic", "THAI": "Thai", "GEORGIAN": "Georgian", "DEVANAGARI": "Devanagari",
            "HANGUL": "Hangul", "CJK": "CJK", "HIRAGANA": "CJK", "KATAKANA": "CJK", "HALFWIDTH": "CJK",
            "FULLWIDTH": "CJK", "IDEOGRAPHIC": "CJK", "KANGXI": "CJK"}
"""Scripts by the first word of their letters' Unicode names; Japanese mixes kanji and kana, and
letters of other names (MICRO SIGN, MODIFIER LETTER ...) go with any script."""


def _one_script(part: str) -> bool:
    if part.isascii():
        return True
    scripts = {_SCRIPTS.get(unicodedata.name(c, "").split(" ", 1)[0]) for c in part if c.isalpha()}
    scripts.discard(None)
    return len(scripts) <= 1


def parse_file(path: Path) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{path}: unsupported file type {suffix or '(none)'}; use .txt, .md or .html")
    raw = read_text(path)
    if suffix in (".html", ".htm"):
        page = read_html(raw)
        return parse_text(path.stem, page.text, path=str(path), title_hint=page.title, date_hint=page.date,
                          source_hint=page.site)
    if suffix in (".md", ".markdown"):
        raw = re.sub(r"^#{1,6}[ \t]+", "", raw, flags=re.M)
    return parse_text(path.stem, raw, path=str(path))


def _paragraphs(text: str, start: int) -> Iterator[tuple[int, int]]:
    """Spans of the paragraphs from ``start`` on (the chunker's), blanks around them left out."""
    for m in PARAGRAPH.finditer(text, start):
        s, e = m.span()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            yield s, e


def parse_text(doc_id: str, text: str, path: str = "", title_hint: str = "", date_hint: str | None = None,
               source_hint: str | None = None) -> Document:
    """Split a raw article into metadata and the offset where body text begins.

    The hints come from a page's metadata (``read_html``): ``date_hint`` stands unless the text
    begins with a date line, and ``source_hint`` (the site name) unless a dateline names an agency.
    """
    if not text.strip():
        raise InputError(f"{path or doc_id}: the file is empty")
    date = date_hint
    pos = 0
    m = _DATE_LINE.match(text)
    if m:
        date = m.group(1)
        pos = m.end()
    # The header is read from the first five paragraphs at most: a caption, then up to three
    # tried as headline, note or dateline, and the one after them where the body may begin.
    paras = list(islice(_paragraphs(text, pos), 5))
    caption = None
    if paras and not m:
        s, e = paras[0]
        first = text[s:e]
        if len(paras) > 1 and (_ends_with_credit(first) or english_share(first) > 0.7):
            caption = first
            paras = paras[1:]
            dm = _EN_DATE.search(first)
            if dm and not date:
                date = f"{dm.group(2)}-{_MONTHS[dm.group(1)]:02d}"
    title = title_hint
    source = dateline = None
    body_start = paras[0][0] if paras else pos
    for i, (s, e) in enumerate(paras[:3]):
        para = text[s:e]
        dm = _DATELINE.match(para)
        if dm:
            dateline, source = dm.group("dateline").strip(), dm.group("agency").strip()
            body_start = s + dm.end()
            break
        if para.startswith("(") and para.endswith(")"):
            body_start = paras[i + 1][0] if i + 1 < len(paras) else e
            continue
        if i == 0 and title and para.strip() == title.strip() and len(paras) > 1:
            body_start = paras[1][0]
            continue
        if i == 0 and not title and _looks_like_headline(para) and len(paras) > 1:
            title = para
            body_start = paras[1][0]
            continue
        break
    if not title:
        title = _headline_from_body(text, body_start)
    source = source or source_hint
    return Document(
        doc_id=doc_id,
        path=path,
        text=text,
        title=title,
        date=date,
        source=source,
        dateline=dateline,
        caption=caption,
        body_start=body_start,
        content_hash=text_digest(text),
    )


def _looks_like_headline(para: str) -> bool:
    return "\n" not in para and len(para) <= 160 and not para.rstrip().endswith((".", ":", ",", ";"))


_BLANKS = re.compile(r"\s*")
_FIRST_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _headline_from_body(text: str, start: int, limit: int = 90) -> str:
    """The first sentence of ``text[start:]`` (up to a blank after . ! or ?), cut at a word near ``limit``.

    Read in place: the body is neither copied nor split, however long it is.
    """
    lead = _BLANKS.match(text, start)
    s = lead.end() if lead else start
    m = _FIRST_SENTENCE_END.search(text, s)
    if m:
        e = m.start()
    else:
        e = len(text)
        while e > s and text[e - 1].isspace():
            e -= 1
    if e - s <= limit:
        return text[s:e]
    cut = text[s:s + limit].rsplit(" ", 1)[0]
    return cut + " …"


def iter_files(paths: list[Path], skipped: list[tuple[str, str]] | None = None) -> list[Path]:
    """Article files under the given files or folders, sorted, hidden files and folders left out.

    Every other entry of a folder that is not read (an unsupported type such as .pdf or .docx,
    a broken link, a device or pipe) is appended to ``skipped`` as ``(path, reason)``, so it
    can be named; a file given by name is returned whatever its type (``parse_file`` says why
    it cannot be read).
    """
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if any(x.startswith(".") for x in f.relative_to(p).parts) or f.is_dir():
                    continue
                if not f.is_file():
                    why = "a broken link" if f.is_symlink() else "not a regular file"
                elif f.suffix.lower() not in SUFFIXES:
                    why = f"unsupported file type {f.suffix.lower() or '(none)'}; use .txt, .md or .html"
                else:
                    found.append(f)
                    continue
                if skipped is not None:
                    skipped.append((str(f), why))
        elif p.is_file():
            found.append(p)
        else:
            raise InputError(f"no such file or folder: {p}")
    return found
