"""Sentence splitting and sentence-aware chunking, with character offsets.

Offsets always point into the document's own text, so a citation can mark
the exact supporting sentence in the original article.

Both run in time linear in the text's length, also on a text without line
breaks: every regex is anchored or possessive where backtracking could rescan
a run, and the look-back for the word before a full stop never goes beyond the
previous sentence boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import chain

from rag.types import Document, Passage, Sentence

CHUNKER_VERSION = "2"

_ABBREV = {
    "st", "dr", "prof", "nr", "bzw", "ca", "vgl", "mio", "mrd", "hr", "fr", "jan", "feb", "mär", "apr", "jun",
    "jul", "aug", "sep", "sept", "okt", "nov", "dez", "z", "b", "u", "a", "d", "h", "v", "chr", "usw", "etc",
    "mr", "mrs", "ms", "jr", "sr", "inc", "ltd", "co", "gen", "col", "lt", "sgt", "vs", "no", "abs", "art",
}
_MONTH_WORDS = (
    "Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
    "Jahrhundert|Jahrhunderts|Mal|Platz|Stock|Runde|Spieltag|Amtszeit"
)
# A run of end marks (tried only from its first mark: trying again from each later mark of a long
# run "....." would rescan it), closing quotes or brackets, then space and a capital or digit.
# The possessive quantifiers give up nothing a shorter run could use: what follows a shorter run
# is another end mark or closer, never the required space.
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]++[\"'”“»«’)]*+(?=\s++[\"'„“»«(\[]?[A-ZÄÖÜ0-9])")
_NEXT_MONTH = re.compile(rf"\s+(?:{_MONTH_WORDS})\b")
_LINE = re.compile(r"[^\n]+")
PARAGRAPH = re.compile(r"[^\n]+(?:\n(?![^\S\n]*+\n)[^\n]+)*")
"""A paragraph: lines up to a blank (or whitespace-only) line.

The look-ahead reads only the next line's leading blanks; the older ``(?!\\s*\\n)`` read the
whole following run of blank lines from every line in it, quadratic in that run.
"""

PROGRESS_STEP = 1 << 20
"""Characters between two calls of ``chunk_document``'s progress callback."""


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Split ``text[start:end]`` into sentences; paragraphs and line breaks always split."""
    return list(iter_sentences(text, start, end))


def iter_sentences(text: str, start: int = 0, end: int | None = None) -> Iterator[Sentence]:
    """The sentences of ``text[start:end]``, one at a time (see ``split_sentences``)."""
    end = len(text) if end is None else end
    for line in _LINE.finditer(text, start, end):
        yield from _line_sentences(line.group(), line.start())


def _line_sentences(p_text: str, p_start: int) -> Iterator[Sentence]:
    cursor = 0  # where the current sentence begins
    word_floor = 0  # the word before an end mark never starts before this (space follows every boundary)
    for m in _BOUNDARY.finditer(p_text):
        stop, mark = m.end(), m.start()
        lo, word_floor = max(cursor, word_floor), stop
        w = mark
        while w > lo and not p_text[w - 1].isspace():
            w -= 1
        token = p_text[w:mark + 1].rstrip(".").lower()
        if token in _ABBREV or (len(token) == 1 and token.isalpha()):
            continue
        if _ordinal_before(p_text, mark) and _NEXT_MONTH.match(p_text, stop):
            continue
        sentence = _sentence(p_text[cursor:stop], p_start + cursor)
        if sentence:
            yield sentence
        cursor = stop
    sentence = _sentence(p_text[cursor:], p_start + cursor)
    if sentence:
        yield sentence


def _ordinal_before(line: str, mark: int) -> bool:
    """``line[:mark + 1]`` ends in a one- or two-digit ordinal ("9.") after a space or the line start."""
    if line[mark] != ".":
        return False
    for k in (1, 2):
        j = mark - k
        if j < 0 or not line[j].isdecimal():
            return False
        if j == 0 or line[j - 1].isspace():
            return True
    return False


def _sentence(piece: str, offset: int) -> Sentence | None:
    lead = len(piece) - len(piece.lstrip())
    body = piece.strip()
    if not body:
        return None
    return Sentence(text=body, start=offset + lead, end=offset + lead + len(body))


def _is_heading(s: Sentence) -> bool:
    return len(s.text) < 120 and not s.text.endswith((".", "!", "?", "\"", "”", "“", "»"))


def chunk_document(doc: Document, max_chars: int = 500, first_id: int = 0,
                   progress: Callable[[int], None] | None = None) -> list[Passage]:
    """Group a document's body sentences into passages of at most ``max_chars``.

    Chunks never cross a paragraph, except that a heading joins the paragraph
    it introduces; a sentence longer than ``max_chars`` stays whole.
    ``progress``, if given, is called with the number of characters of ``doc.text``
    done, about every ``PROGRESS_STEP`` characters (also inside one long line) and
    once at the end with ``len(doc.text)``.
    """
    passages: list[Passage] = []
    current: list[Sentence] = []
    carry: list[Sentence] = []
    reported = 0

    def flush() -> None:
        if current:
            s, e = current[0].start, current[-1].end
            passages.append(Passage(
                passage_id=first_id + len(passages), doc_id=doc.doc_id, ordinal=len(passages),
                text=doc.text[s:e], start=s, end=e, sentences=tuple(current),
            ))
            current.clear()

    for para in PARAGRAPH.finditer(doc.text, doc.body_start):
        sentences = iter_sentences(doc.text, para.start(), para.end())
        first = next(sentences, None)
        if first is None:
            continue
        second = next(sentences, None)
        if second is None and _is_heading(first):
            flush()
            carry.append(first)
            continue
        flush()
        headings = len(carry)
        current.extend(carry)
        carry.clear()
        for sent in chain((first,) if second is None else (first, second), sentences):
            if len(current) > headings and sent.end - current[0].start > max_chars:
                flush()
                headings = 0
            current.append(sent)
            if progress is not None and sent.end - reported >= PROGRESS_STEP:
                reported = sent.end
                progress(reported)
        flush()
    current.extend(carry)
    flush()
    if progress is not None:
        progress(len(doc.text))
    return passages
