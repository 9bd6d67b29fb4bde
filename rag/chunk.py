"""Sentence splitting and sentence-aware chunking, with character offsets.

Offsets always point into the document's own text, so a citation can mark
the exact supporting sentence in the original article.
"""

from __future__ import annotations

import re

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
_BOUNDARY = re.compile(r"[.!?…]+[\"'”“»«’)]*(?=\s+[\"'„“»«(\[]?[A-ZÄÖÜ0-9])")
_ORDINAL_BEFORE = re.compile(r"(?:^|\s)\d{1,2}\.$")
_NEXT_MONTH = re.compile(rf"\s+(?:{_MONTH_WORDS})\b")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Split ``text[start:end]`` into sentences; paragraphs and line breaks always split."""
    end = len(text) if end is None else end
    out: list[Sentence] = []
    for para in re.finditer(r"[^\n]+", text[start:end]):
        p_start = start + para.start()
        p_text = para.group()
        cursor = 0
        for m in _BOUNDARY.finditer(p_text):
            stop = m.end()
            head = p_text[cursor:stop]
            word = re.search(r"(\S+)$", p_text[cursor:m.start() + 1])
            token = word.group(1).rstrip(".").lower() if word else ""
            if token in _ABBREV or (len(token) == 1 and token.isalpha()):
                continue
            if _ORDINAL_BEFORE.search(p_text[: m.start() + 1]) and _NEXT_MONTH.match(p_text[stop:]):
                continue
            _append(out, head, p_start + cursor)
            cursor = stop
        _append(out, p_text[cursor:], p_start + cursor)
    return out


def _append(out: list[Sentence], piece: str, offset: int) -> None:
    lead = len(piece) - len(piece.lstrip())
    body = piece.strip()
    if body:
        out.append(Sentence(text=body, start=offset + lead, end=offset + lead + len(body)))


def _is_heading(s: Sentence) -> bool:
    return len(s.text) < 120 and not s.text.endswith((".", "!", "?", "\"", "”", "“", "»"))


def chunk_document(doc: Document, max_chars: int = 500, first_id: int = 0) -> list[Passage]:
    """Group a document's body sentences into passages of at most ``max_chars``.

    Chunks never cross a paragraph, except that a heading joins the paragraph
    it introduces; a sentence longer than ``max_chars`` stays whole.
    """
    passages: list[Passage] = []
    current: list[Sentence] = []
    carry: list[Sentence] = []

    def flush() -> None:
        if current:
            s, e = current[0].start, current[-1].end
            passages.append(Passage(
                passage_id=first_id + len(passages), doc_id=doc.doc_id, ordinal=len(passages),
                text=doc.text[s:e], start=s, end=e, sentences=tuple(current),
            ))
            current.clear()

    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", doc.text[doc.body_start:]):
        p_start = doc.body_start + para.start()
        sentences = split_sentences(doc.text, p_start, p_start + len(para.group()))
        if not sentences:
            continue
        if len(sentences) == 1 and _is_heading(sentences[0]):
            flush()
            carry.append(sentences[0])
            continue
        flush()
        headings = len(carry)
        current.extend(carry)
        carry.clear()
        for sent in sentences:
            if len(current) > headings and sent.end - current[0].start > max_chars:
                flush()
                headings = 0
            current.append(sent)
        flush()
    current.extend(carry)
    flush()
    return passages
