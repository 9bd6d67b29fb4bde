"""Labelled answer-judge pairs and the threshold that makes the judge's yes precise.

The answer judge (``rag.judge.LlmAnswerJudge``) reads "does this source give this answer to this
question?". Greedy decoding turns that into yes when P(yes) > P(no), a threshold of 0.5 chosen by
nobody. Here the judge is run as the grounded design runs it, on drafts of tuning-side questions
(seeds tune half, the GNAD dev set, XQuAD questions outside the reported sample), and every call is
recorded with its P(yes) and a label from the gold answer:

- positive: the answer sentence states every gold fact and the judged source states one of them
  (or holds 80% of a gold support quote's words);
- negative: otherwise, and always for an unanswerable question.

The labels are automatic, so a true sentence that is not the asked fact counts as negative; that
is the judge's job too (a true neighbour of the answer is not the answer).

usage:
    python -m rag.eval.calibration collect --dataset seeds-tune,gnad,xquad --out pairs.jsonl
    python -m rag.eval.calibration table pairs.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rag.eval import metrics


@dataclass(frozen=True)
class Pair:
    dataset: str
    qid: str
    question: str
    answer: str
    source: str
    p_yes: float
    label: bool

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "id": self.qid, "question": self.question, "answer": self.answer,
                "source": self.source, "p_yes": round(self.p_yes, 5), "label": self.label}


@dataclass(frozen=True)
class Question:
    dataset: str
    qid: str
    question: str
    facts: tuple[tuple[str, ...], ...]
    support: tuple[str, ...] = ()
    answerable: bool = True


def label(q: Question, answer: str, source: str) -> bool:
    """Whether the judged answer sentence gives the gold facts and the source states them."""
    if not q.answerable or not q.facts:
        return False
    if not all(metrics.fact_present(answer, f) for f in q.facts):
        return False
    in_source = any(metrics.fact_present(source, f) for f in q.facts)
    return in_source or any(_overlap(quote, source) >= 0.8 for quote in q.support)


def _overlap(quote: str, source: str) -> float:
    words = set(quote.lower().split())
    return len(words & set(source.lower().split())) / len(words) if words else 0.0


class RecordingJudge:
    """The answer judge, unchanged in its verdicts, writing down each call's P(yes)."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.calls: list[tuple[str, str, str, float]] = []

    def __call__(self, question: str, answer: str, source: str) -> bool:
        p = self.judge.score(question, answer, source)
        self.calls.append((question, answer, source, p))
        return bool(p >= self.judge.threshold)


def questions(name: str, settings: Any, embedder: Any) -> tuple[list[Question], Any]:
    """A dataset's tuning-side questions and the settings whose index they are asked over."""
    if name == "xquad":
        from rag.eval.runner import XQUAD_SAMPLE, xquad_sample
        from rag.eval.xquad import build_index, load_xquad

        passages, qs = load_xquad()
        store = build_index(settings, embedder, passages)
        reported = set(xquad_sample(min(XQUAD_SAMPLE, len(qs)), len(qs)))
        out = [Question("xquad", q["id"], q["question_en"], (tuple(q["answers"]),))
               for i, q in enumerate(qs) if i not in reported]
        return out, replace(settings, index_dir=store.root)
    if name == "seeds-gate":
        raise SystemExit("the seeds gate half is never used for tuning")
    from rag.eval.runner import qa_dataset

    _, items, s = qa_dataset(name, settings, embedder)
    out = [Question(name, i.id, i.question, i.facts, tuple(q for _, q in i.support), i.answerable)
           for i in items if not i.history]
    return out, s


def collect(names: Sequence[str], limit: int | None) -> Iterator[Pair]:
    from rag.factory import build_assistant, build_embedder, build_generator
    from rag.settings import Settings

    settings = Settings.from_env()
    embedder = build_embedder(settings)
    generator = build_generator(settings)
    for name in names:
        qs, s = questions(name, settings, embedder)
        assistant = build_assistant(s, embedder=embedder, generator=generator)
        checker = assistant.answerer.checker
        assert checker.judge is not None
        recorder = RecordingJudge(checker.judge)
        checker.judge = recorder
        for k, q in enumerate(qs[:limit] if limit else qs):
            recorder.calls.clear()
            assistant.ask(q.question)
            for question, answer, source, p in recorder.calls:
                yield Pair(name, q.qid, question, answer, source, p, label(q, answer, source))
            print(f"[{name} {k + 1}] {len(recorder.calls)} judged", file=sys.stderr, flush=True)


def table(pairs: Sequence[Pair], thresholds: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
          ) -> list[dict[str, float]]:
    """Per threshold: the share of yes, precision and recall of yes against the labels."""
    rows = []
    for t in thresholds:
        yes = [p for p in pairs if p.p_yes >= t]
        tp = sum(p.label for p in yes)
        pos = sum(p.label for p in pairs)
        rows.append({"threshold": t, "yes": len(yes) / len(pairs) if pairs else 0.0,
                     "precision": tp / len(yes) if yes else 1.0, "recall": tp / pos if pos else 0.0})
    return rows


def auc(pairs: Sequence[Pair]) -> float:
    """The chance that a positive pair scores above a negative one (ties count half)."""
    pos = [p.p_yes for p in pairs if p.label]
    neg = [p.p_yes for p in pairs if not p.label]
    if not pos or not neg:
        return float("nan")
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))


def load(path: Path) -> list[Pair]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(Pair(r["dataset"], r["id"], r["question"], r["answer"], r["source"], r["p_yes"], r["label"]))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.calibration")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--dataset", default="seeds-tune,gnad,xquad")
    c.add_argument("--limit", type=int)
    c.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("table")
    t.add_argument("pairs", type=Path)
    args = parser.parse_args(argv)
    if args.command == "collect":
        with args.out.open("a", encoding="utf-8") as out:
            for pair in collect([d.strip() for d in args.dataset.split(",")], args.limit):
                out.write(json.dumps(pair.to_json(), ensure_ascii=False) + "\n")
                out.flush()
        return 0
    pairs = load(args.pairs)
    for name in sorted({p.dataset for p in pairs}) + ["all"]:
        chosen = [p for p in pairs if name in ("all", p.dataset)]
        print(f"{name}: {len(chosen)} pairs, {sum(p.label for p in chosen)} positive, AUC {auc(chosen):.3f}")
        for row in table(chosen):
            print("  t={threshold:.1f}  yes {yes:.2f}  precision {precision:.3f}  recall {recall:.3f}".format(**row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
