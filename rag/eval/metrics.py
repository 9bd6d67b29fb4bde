"""Metric definitions for the QA evaluation; each is stated in the report too."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from rag.language import foreign_places, foreign_spans
from rag.textnorm import fold, normalize_dates, normalize_number, numbers

DEFINITIONS = {
    "answer_correctness": "answerable items only: every gold fact (synthesis items: at least one; any accepted "
                          "variant) appears in the answer, numbers and dates normalised (80,1 = 80.1; February "
                          "8, 2007 = 8. Februar 2007), and the answer states no number that stands nowhere in "
                          "the corpus or the question; a refusal is incorrect",
    "completeness": "synthesis items: share of gold facts the answer covers",
    "refusal_accuracy": "all items: refuses when the articles don't answer, answers when they do",
    "citation_precision": "share of citations whose passage alone supports the answer sentence citing it (judge below)",
    "citation_recall": "share of answer sentences whose citations together support them (ALCE)",
    "recall@k": ("share of answerable items with a gold passage among the top k retrieved passages; a "
                 "follow-up is searched as the pipeline searched it (its rewrite) when answers are generated, "
                 "with the previous turn glued on under --retrieval-only"),
    "mrr": "mean reciprocal rank of the first gold passage (0 when not in the top 50)",
    "first_token_s": "seconds from the question to the first streamed token (retrieval, rewrite, prompt)",
    "total_s": "seconds from the question to the end of the streamed draft",
    "checked_s": ("seconds from the question to the checked answer shown: total_s plus the checks that give each "
                  "sentence one quote (p50/p95 over answered and refused items alike)"),
    "sourced_s": ("seconds until the quotes of further articles stating the same facts are in as well: checked_s "
                  "plus their checks, which come after the answer"),
    "tokens_per_s": "generated tokens per second of decoding, as llama.cpp counts them",
    "answered_wrong": ("all items: share answered wrongly, i.e. an answer (not a refusal) that lacks a gold fact or "
                       "states an invented number, or any answer to an unanswerable question; XQuAD: an answer "
                       "that contains no gold string. A refusal is never wrong"),
    "coverage": "share of items answered (not refused)",
    "risk": "share of the answered items that are answered wrongly (answered_wrong / coverage)",
    "unanswerable_refused": "unanswerable items only: share refused",
    "untranslated": ("answered English-question items only: share of answers that leave a run of German words "
                      "(rag.language.foreign_spans: \"Zentrum für bemannte Raumfahrt\") or a German place name with an "
                      "English one (rag.language.foreign_places: \"Litauen\"), which an English reader cannot check "
                      "against the question"),
    "exact_match": ("XQuAD: a gold answer string (German or English) is contained in the answer, numbers and "
                    "dates written one way as above"),
    "token_f1": "XQuAD: best token-level F1 between the answer and a gold answer string",
}


CITATION_MARK = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")


def _norm(text: str) -> str:
    text = normalize_dates(text)
    text = re.sub(r"\d+(?:[.,\u202f\u00a0 ]\d{3})+(?!\d)|\d+[.,]\d+", lambda m: normalize_number(m.group()), text)
    return fold(text)


def untranslated(answers: Iterable[tuple[str, str, bool]]) -> float | None:
    """Share of the answered English ``(lang, answer, refused)`` items whose answer leaves German words in.

    XQuAD's contains-gold counts a German gold string copied into an English answer as right (the
    plain baseline copies more), so the readers' side of it is reported beside it. None when no
    English question was answered.
    """
    texts = [CITATION_MARK.sub("", a) for lang, a, refused in answers if lang == "en" and not refused]
    return (sum(bool(foreign_spans(t, "en") or foreign_places(t, "en")) for t in texts) / len(texts)
            if texts else None)


def fact_present(answer: str, variants: Sequence[str]) -> bool:
    norm = _norm(answer)
    return any(_norm(v) in norm for v in variants)


def facts_covered(answer: str, facts: Sequence[Sequence[str]]) -> float:
    if not facts:
        return 1.0
    return sum(fact_present(answer, f) for f in facts) / len(facts)


def invented_numbers(answer: str, corpus_numbers: set[str], question: str = "") -> set[str]:
    """Numbers in the answer that stand in no article and not in the question ([n] markers aside)."""
    return numbers(CITATION_MARK.sub(" ", answer)) - corpus_numbers - numbers(question)


def is_correct(answer: str, refused: bool, facts: Sequence[Sequence[str]], corpus_numbers: set[str],
               question: str = "", need_all: bool = True) -> bool:
    """All gold facts (or, for synthesis, at least one) and no invented number."""
    if refused:
        return False
    covered = facts_covered(answer, facts)
    enough = covered == 1.0 if need_all else covered > 0
    return enough and not invented_numbers(answer, corpus_numbers, question)


def risk_coverage(outcomes: Sequence[tuple[bool, bool]]) -> dict[str, float]:
    """From (answered, wrong) per item: answered_wrong, coverage and risk.

    A refusal costs the reader a look at the sources; an answer that is wrong but shown as
    checked costs a false fact, so the wrong answers are counted apart from the refusals.
    """
    n = len(outcomes)
    answered = sum(a for a, _ in outcomes)
    wrong = sum(a and w for a, w in outcomes)
    return {"answered_wrong": wrong / n if n else 0.0, "coverage": answered / n if n else 0.0,
            "risk": wrong / answered if answered else 0.0}


def first_rank(ranking: Sequence[object], gold: Iterable[object]) -> int | None:
    gold = set(gold)
    for i, item in enumerate(ranking):
        if item in gold:
            return i + 1
    return None


def retrieval_metrics(ranks: Sequence[int | None], ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    n = len(ranks) or 1
    out = {f"recall@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    out["mrr"] = sum(1.0 / r for r in ranks if r is not None) / n
    return out


def percentiles(values: Iterable[float | None]) -> dict[str, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"p50": None, "p95": None, "mean": None}
    arr = np.array(vals, dtype=float)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)), "mean": float(arr.mean())}


def token_f1(prediction: str, gold: str) -> float:
    p = re.findall(r"\w+", _norm(prediction))
    g = re.findall(r"\w+", _norm(gold))
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if not p or not g or same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)
