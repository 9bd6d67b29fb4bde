"""Support judges: does a (German) passage support an (English or German) claim?

Both first require every number in the claim to stand in the passage. The
embedding judge then asks for a claim close in meaning to one of the passage's
sentences, with a threshold calibrated on hand-labelled pairs (agreement
reported with 2-fold cross-validation, so it is not graded on its own training
data). The LLM judge asks the local chat model yes or no. The report gives
each judge's agreement with the labels; the LLM judge is the headline one,
and since the pipeline verifies with the same model, the embedding judge's
figures are reported beside it as an independent check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from embeddings.embedder import Embedder
from rag.chunk import split_sentences
from rag.textnorm import numbers

_PRONOUN_START = re.compile(r"^(he|she|it|they|his|her|their|this|these|er|sie|es|dies|dabei)\b", re.I)


def with_context(claim: str, question: str) -> str:
    """A short or pronoun-led claim is judged with the question it answers.

    "40 trucks." or "He also promised military help." mean little alone; with
    the question in front they can be compared with a source sentence.
    """
    if len(claim.split()) < 6 or _PRONOUN_START.match(claim):
        return f"{question} {claim}"
    return claim


@dataclass(frozen=True)
class Pair:
    claim: str
    passage: str
    supported: bool


def load_pairs(path: Path | None = None) -> list[Pair]:
    text = path.read_text() if path else resources.files("rag.data").joinpath("support_pairs.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [Pair(r["claim"], r["passage"], bool(r["supported"])) for r in rows]


class Judge(Protocol):
    def supports(self, claim: str, passage: str, question: str = "") -> bool: ...


class LlmSupportJudge:
    """The local LLM's yes/no verdict (see ``rag.judge``), after the same numbers check."""

    def __init__(self, ask: Callable[[str, str], bool]) -> None:
        self.ask = ask

    def supports(self, claim: str, passage: str, question: str = "") -> bool:
        if not numbers(claim) - numbers(question) <= numbers(passage):
            return False
        text = with_context(claim, question) if question else claim
        return self.ask(text, passage)


def agreement(judge: Judge, pairs: Sequence[Pair]) -> dict[str, float]:
    pred = np.array([judge.supports(p.claim, p.passage) for p in pairs])
    gold = np.array([p.supported for p in pairs])
    return {
        "pairs": len(pairs),
        "agreement": float((pred == gold).mean()),
        "precision": float(gold[pred].mean()) if pred.any() else 0.0,
        "recall": float(pred[gold].mean()) if gold.any() else 0.0,
    }


class SupportJudge:
    def __init__(self, embedder: Embedder, threshold: float = 0.6) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self._doc_cache: dict[str, np.ndarray] = {}

    def _sentence_vectors(self, passage: str) -> np.ndarray:
        if passage not in self._doc_cache:
            sents = [s.text for s in split_sentences(passage)] or [passage]
            self._doc_cache[passage] = self.embedder.embed_documents(sents)
        return self._doc_cache[passage]

    def similarity(self, claim: str, passage: str, question: str = "") -> float:
        text = with_context(claim, question) if question else claim
        qv = self.embedder.embed_queries([text])[0]
        return float((self._sentence_vectors(passage) @ qv).max())

    def numbers_fit(self, claim: str, passage: str, question: str = "") -> bool:
        return numbers(claim) - numbers(question) <= numbers(passage)

    def supports(self, claim: str, passage: str, question: str = "") -> bool:
        if not self.numbers_fit(claim, passage, question):
            return False
        return self.similarity(claim, passage, question) >= self.threshold


def calibrate(judge: SupportJudge, pairs: Sequence[Pair]) -> dict[str, float]:
    """Pick the threshold with the best agreement; report 2-fold cross-validated agreement."""
    sims = np.array([judge.similarity(p.claim, p.passage) for p in pairs])
    fits = np.array([judge.numbers_fit(p.claim, p.passage) for p in pairs])
    gold = np.array([p.supported for p in pairs])
    grid = np.round(np.arange(0.30, 0.90, 0.01), 2)

    def best(mask: np.ndarray) -> float:
        accs = [((sims[mask] >= t) & fits[mask]) == gold[mask] for t in grid]
        return float(grid[int(np.argmax([a.mean() for a in accs]))])

    idx = np.arange(len(pairs))
    folds = [idx % 2 == 0, idx % 2 == 1]
    cv_hits = 0
    for train, test in ((folds[0], folds[1]), (folds[1], folds[0])):
        t = best(train)
        cv_hits += int((((sims[test] >= t) & fits[test]) == gold[test]).sum())
    threshold = best(np.ones(len(pairs), bool))
    pred = (sims >= threshold) & fits
    judge.threshold = threshold
    return {
        "pairs": len(pairs),
        "threshold": threshold,
        "agreement": float((pred == gold).mean()),
        "agreement_cv": cv_hits / len(pairs),
        "precision": float(gold[pred].mean()) if pred.any() else 0.0,
        "recall": float(pred[gold].mean()) if gold.any() else 0.0,
    }
