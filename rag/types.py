"""Typed, frozen records passed between pipeline stages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def text_digest(text: str) -> str:
    """sha256 of a text: a document's content hash, and the embedding cache's key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: str
    text: str
    title: str
    date: str | None = None
    source: str | None = None
    dateline: str | None = None
    caption: str | None = None
    body_start: int = 0
    content_hash: str = ""


@dataclass(frozen=True)
class Sentence:
    """A sentence with character offsets into its document's text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A sentence-aware chunk of one document: the unit that is retrieved and cited."""

    passage_id: int
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    sentences: tuple[Sentence, ...] = ()


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Evidence:
    """One numbered source shown to the model: a sentence of a retrieved passage."""

    n: int
    passage: Passage
    sentence: Sentence
    score: float
    sentence_id: int = -1


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    date: str | None
    source: str | None
    passage: str
    quote: str
    passage_id: int = -1
    quote_start: int = -1
    quote_end: int = -1


@dataclass(frozen=True)
class Turn:
    """One earlier question and the answer it got: the context a follow-up refers to."""

    question: str
    answer: str


@dataclass(frozen=True)
class Timings:
    retrieve_s: float = 0.0
    first_token_s: float | None = None
    total_s: float = 0.0
    tokens_per_s: float | None = None
    verify_s: float | None = None
    checks: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int | None = None
    tokens: int | None = None
    rewrite_s: float | None = None
    corroborate_s: float | None = None
    """After the checked answer is shown: the checks of quotes from other articles that state the same facts."""

    @property
    def checked_s(self) -> float:
        """Until the checked answer is shown: generation, then its checks (each sentence with one quote).

        ``total_s`` ends with the streamed draft; the reader's answer is the checked one. Quotes
        from further articles come after it (``corroborate_s``, ``sourced_s``).
        """
        return self.total_s + (self.verify_s or 0.0)

    @property
    def sourced_s(self) -> float:
        """Until every quote of the answer is in, those from further articles included."""
        return self.checked_s + (self.corroborate_s or 0.0)


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: tuple[int, ...]
    supported: bool
    evidence: tuple[str, ...] = ()
    grounded_by: int = 1
    """How many of ``citations``, from the first, state its facts; the rest are further articles saying the same."""


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    timings: Timings = field(default_factory=Timings)
    sentences: tuple[AnswerSentence, ...] = ()
    standalone_question: str | None = None
    draft: str = ""
    verified: bool = True
    dropped: tuple[str, ...] = ()
    """Why each draft sentence the checks left out was left out ("focused_read said no"): what a
    reader of ``--json`` or an eval report needs to tell a refused right draft from a caught wrong one."""

    def to_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "verified": self.verified,
            "citations": [
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "date": c.date,
                    "source": c.source,
                    "passage": c.passage,
                    "quote": c.quote,
                }
                for c in self.citations
            ],
            "sentences": [
                {"text": s.text, "citations": list(s.citations), "grounded_by": s.grounded_by,
                 "supported": s.supported, "evidence": list(s.evidence)}
                for s in self.sentences
            ],
            "dropped": list(self.dropped),
            "timings": {
                "retrieve_s": round(self.timings.retrieve_s, 3),
                "first_token_s": None if self.timings.first_token_s is None else round(self.timings.first_token_s, 3),
                "total_s": round(self.timings.total_s, 3),
                "tokens_per_s": None if self.timings.tokens_per_s is None else round(self.timings.tokens_per_s, 2),
                "verify_s": None if self.timings.verify_s is None else round(self.timings.verify_s, 3),
                "checked_s": round(self.timings.checked_s, 3),
                "checks": {k: round(v, 3) for k, v in self.timings.checks.items()},
                "prompt_tokens": self.timings.prompt_tokens,
                "tokens": self.timings.tokens,
                "rewrite_s": None if self.timings.rewrite_s is None else round(self.timings.rewrite_s, 3),
                "corroborate_s": None if self.timings.corroborate_s is None else round(self.timings.corroborate_s, 3),
                "sourced_s": round(self.timings.sourced_s, 3),
            },
        }
