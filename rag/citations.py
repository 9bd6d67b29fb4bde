"""Parse [n] markers, check each answer sentence against its sources, map to citations.

A small model cites loosely: it strings [1][2][3] together, cites the wrong
source, or slips in a number no source states. Each sentence is checked
before it is shown: its numbers must stand in a cited source, and its claim
must be close in meaning (multilingual embeddings) to the cited sentence.
Wrong citations are moved to the evidence that supports the claim; a sentence
nothing supports is dropped or marked, depending on settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.textnorm import fold, numbers
from rag.types import AnswerSentence, Citation, Document, Evidence

_MARK = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ\"„“(])|\n+")
_NAME = re.compile(r"\b[A-ZÄÖÜ][a-zäöüß]{2,}(?:-[A-ZÄÖÜ][a-zäöüß]+)?")
_SENTENCE_STARTERS = set("""the a an he she it they this that these in on at after before but and his her their its
there what when where who der die das er sie es ein eine am im bei nach vor aber und sein ihr dabei zudem auch
""".split())


@dataclass(frozen=True)
class DraftSentence:
    text: str
    cited: tuple[int, ...]


def split_answer(answer: str) -> list[DraftSentence]:
    """Answer text -> sentences with the [n] numbers each one carries.

    A marker that opens the next sentence (``... Minsk. [2] He ...``) belongs to
    the sentence before it, which is how small models often place them.
    """
    out: list[DraftSentence] = []
    for piece in _SENT_END.split(answer.strip()):
        piece = piece.strip()
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


def names(text: str) -> set[str]:
    """Capitalised words that are not sentence starters: a cheap proxy for names."""
    return {fold(m.group()) for m in _NAME.finditer(text) if m.group().lower() not in _SENTENCE_STARTERS}


@dataclass(frozen=True)
class Verdict:
    sentence: AnswerSentence
    reason: str = ""


class CitationChecker:
    """Decides, per answer sentence, which evidence supports it.

    ``similarity`` maps (claims, evidence) to a cosine matrix; the
    threshold was calibrated on hand-labelled claim/passage pairs. A claim
    that clears no citation's threshold may still be re-attributed to the single
    evidence sentence closest to it, if that one clears ``fallback_threshold``:
    pronouns ("He also promised ...") lower the similarity of true claims.
    """

    def __init__(self, similarity: Callable[[Sequence[str], Sequence[Evidence]], np.ndarray],
                 threshold: float = 0.55, drop_unsupported: bool = True, fallback_threshold: float = 0.42) -> None:
        self.similarity = similarity
        self.threshold = threshold
        self.fallback_threshold = fallback_threshold
        self.drop_unsupported = drop_unsupported

    def check(self, drafts: list[DraftSentence], evidence: Sequence[Evidence], question: str) -> list[Verdict]:
        if not drafts:
            return []
        by_n = {e.n: e for e in evidence}
        sims = self.similarity([d.text for d in drafts], evidence) if evidence else None
        q_numbers = numbers(question)
        verdicts = []
        for i, draft in enumerate(drafts):
            claim_numbers = numbers(draft.text) - q_numbers
            cited = [n for n in draft.cited if n in by_n]
            scores = {e.n: float(sims[i, j]) for j, e in enumerate(evidence)} if sims is not None else {}

            def fits(n: int) -> bool:
                src = by_n[n].passage.text
                return claim_numbers <= numbers(src)

            supported_cites = [n for n in cited if fits(n) and scores.get(n, 0.0) >= self.threshold]
            reason = ""
            if not supported_cites:
                best = max(by_n, key=lambda n: scores.get(n, 0.0))
                if fits(best) and scores.get(best, 0.0) >= self.fallback_threshold:
                    supported_cites = [best]
                if not supported_cites:
                    if claim_numbers and not any(claim_numbers <= numbers(e.passage.text) for e in evidence):
                        reason = f"number {', '.join(sorted(claim_numbers))} is in no source"
                    else:
                        reason = "no source supports this sentence"
            supported = bool(supported_cites)
            quotes = tuple(by_n[n].sentence.text for n in supported_cites)
            verdicts.append(Verdict(AnswerSentence(draft.text, tuple(supported_cites), supported, quotes), reason))
        return verdicts


def build_citations(verdicts: list[Verdict], evidence: Sequence[Evidence],
                    documents: dict[str, Document]) -> list[Citation]:
    """One citation per evidence sentence used, keeping the number the model saw.

    Keeping the numbers means the answer streamed to the user and the checked
    answer refer to the same sources.
    """
    by_n = {e.n: e for e in evidence}
    used = sorted({n for v in verdicts for n in v.sentence.citations})
    citations = []
    for n in used:
        e = by_n[n]
        doc = documents[e.passage.doc_id]
        citations.append(Citation(
            n=n, doc_id=doc.doc_id, title=doc.title, date=doc.date, source=doc.source,
            passage=e.passage.text, quote=e.sentence.text, passage_id=e.passage.passage_id,
            quote_start=e.sentence.start, quote_end=e.sentence.end,
        ))
    return citations


def render(sentences: Sequence[AnswerSentence], mark_unsupported: str = "") -> str:
    parts = []
    for s in sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        text = s.text
        if marks:
            text = re.sub(r"([.!?])?$", lambda m: f" {marks}{m.group(1) or ''}", text, count=1)
        elif not s.supported and mark_unsupported:
            text = f"{text} {mark_unsupported}"
        parts.append(text)
    return " ".join(parts)
