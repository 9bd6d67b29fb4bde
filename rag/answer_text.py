"""An answer's text: read into sentences with the [n] marks each carries, and written back with its citations.

A small model cites loosely: it strings [1][2][3] together, puts a mark after the full stop or at
the start of the next line. ``split_answer`` reads all of these; ``render`` writes the checked
sentences with the numbers of the quotes they were tied to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.chunk import split_sentences
from rag.textnorm import join_split_groups
from rag.types import AnswerSentence

_MARK = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_TRAILING_MARK = re.compile(r"([.!?])[ \t]*((?:\[\d+(?:\s*[,;]\s*\d+)*\])+)")


@dataclass(frozen=True)
class DraftSentence:
    text: str
    cited: tuple[int, ...]


def split_answer(answer: str) -> list[DraftSentence]:
    """Answer text -> sentences with the [n] numbers each one carries.

    A marker that opens the next sentence (``... Minsk. [2] He ...``) belongs to
    the sentence before it, which is how small models often place them. A space the model put
    inside its own number ("10, 000 objects") is taken out: read as two numbers, 10 and 000, the
    sentence stood in no source and a right answer was refused (GNAD dev g017, one XQuAD draft;
    the plain baseline wrote "20, 000" too).
    """
    out: list[DraftSentence] = []
    answer = _TRAILING_MARK.sub(r" \2\1", answer.strip())
    for sentence in split_sentences(answer):
        piece = sentence.text
        if not piece:
            continue
        lead = re.match(r"^((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)\s*", piece)
        if lead and out:
            prev = out[-1]
            out[-1] = DraftSentence(prev.text, prev.cited + _numbers_in(lead.group(1)))
            piece = piece[lead.end():]
            if not piece:
                continue
        cited = _numbers_in(piece)
        text = _MARK.sub("", piece).strip()
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        text = join_split_groups(text)
        if not text or not re.search(r"\w", text):
            continue
        twin = next((i for i, d in enumerate(out) if d.text.lower() == text.lower()), None)
        if twin is None:
            out.append(DraftSentence(text, cited))
        else:
            merged = out[twin].cited + tuple(n for n in cited if n not in out[twin].cited)
            out[twin] = DraftSentence(out[twin].text, merged)
    return out


def _numbers_in(text: str) -> tuple[int, ...]:
    seen: list[int] = []
    for m in _MARK.finditer(text):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            if int(n) not in seen:
                seen.append(int(n))
    return tuple(seen)


def render(sentences: Sequence[AnswerSentence], leads: Sequence[str] = ()) -> str:
    """The answer text: each sentence with its citation marks, after its lead (see ``rag.attribution``)."""
    parts = []
    for i, s in enumerate(sentences):
        marks = "".join(f"[{n}]" for n in s.citations)
        text = s.text
        if marks:
            end = re.search(r"[.!?]?$", text)
            cut = end.start() if end else len(text)
            text = f"{text[:cut]} {marks}{text[cut:]}"
        parts.append((leads[i] if i < len(leads) else "") + text)
    return " ".join(parts)
