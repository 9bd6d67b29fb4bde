"""XQuAD (German passages, English questions): cross-lingual retrieval and answers.

The data is read from ``../shared/xquad`` (or ``RAG_XQUAD_DIR``) and indexed
into its own folder under the cache; nothing of it is copied into the project.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.embedder import Embedder
from rag.errors import InputError
from rag.eval import index_slug, metrics
from rag.generate import Generator
from rag.ingest import Ingestor, tqdm_progress
from rag.settings import Settings
from rag.store import Store
from rag.types import Answer, Document, text_digest


def xquad_dir() -> Path:
    env = os.environ.get("RAG_XQUAD_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[2]
    return here.parent / "shared" / "xquad"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_xquad(folder: Path | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    folder = folder or xquad_dir()
    p, q = folder / "xquad_de_passages.dev.jsonl", folder / "xquad_en_de_questions.dev.jsonl"
    if not p.is_file() or not q.is_file():
        raise InputError(f"XQuAD data not found in {folder} (set RAG_XQUAD_DIR)")
    return _jsonl(p), _jsonl(q)


def xquad_index_dir(settings: Settings, embedder_id: str) -> Path:
    """One XQuAD index folder per embedder, so switching backends never meets a refused index."""
    slug = index_slug(embedder_id)
    return settings.home / f"xquad-index-{slug}"


def build_index(settings: Settings, embedder: Embedder, passages: list[dict[str, Any]]) -> Store:
    """Index the passages as documents (``text`` only) in a folder of their own per embedder, once."""
    store = Store(xquad_index_dir(settings, embedder.model_id))
    docs = [Document(doc_id=p["id"], path="", text=p["text"], title=p["title"],
                     content_hash=text_digest(p["text"])) for p in passages]
    Ingestor(store, embedder, settings.chunk_chars, tqdm_progress("xquad embedding")).ingest_documents(docs)
    return store


def run_xquad(settings: Settings, embedder: Embedder, limit: int | None,
              generator: Generator | None, judges: dict[str, Any] | None = None,
              design: str = "checked", ablate: Sequence[str] = ()) -> dict[str, Any]:
    """Retrieval over all questions; with a generator, answers on a fixed sample too.

    Each sampled answer is assembled with and without verification from the
    same generation and both are judged, so the report shows what the checks
    change on data nobody here wrote.
    """
    from rag.factory import build_assistant
    from rag.retrieve import Retriever

    passages, questions = load_xquad()
    store = build_index(settings, embedder, passages)
    retriever = Retriever(store.load(), embedder)
    if limit:
        questions = questions[:limit]
    qvecs = embedder.embed_queries([q["question_en"] for q in questions])
    ranks: dict[str, list[int | None]] = {"fused": [], "bm25": [], "dense": []}
    for q, qv in zip(questions, qvecs, strict=True):
        for name, mode in (("fused", "hybrid"), ("bm25", "lexical"), ("dense", "dense")):
            hits, _, _ = retriever.search(q["question_en"], top_k=50, mode=mode, qvec=qv)
            docs = list(dict.fromkeys(h.passage.doc_id for h in hits))
            ranks[name].append(metrics.first_rank(docs, [q["gold_passage_id"]]))
    totals: dict[str, Any] = {"questions": len(questions), "passages": len(passages)}
    totals.update({name: metrics.retrieval_metrics(r) for name, r in ranks.items()})
    rows: list[dict[str, Any]] = []
    if generator is not None:
        from rag.eval.runner import XQUAD_SAMPLE, judge_answer, verification_table, xquad_sample

        judges = judges or {}
        xsettings = replace(settings, index_dir=store.root)
        assistant = build_assistant(xsettings, embedder=embedder, generator=generator)
        sample = xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions))
        answers: list[Answer] = []
        for i, idx in enumerate(sample):
            q = questions[idx]
            ablated: dict[str, Answer] = {}
            if design == "checked":
                ans, off, ablated = assistant.ask_ablated(q["question_en"], (), ablate)
            else:
                from rag.eval.designs import DESIGNS

                ans = off = DESIGNS[design](q["question_en"], assistant.retriever, generator)
            answers.append(ans)
            row = {"id": q["id"], "question": q["question_en"], "gold": q["answers"], **_scored(ans, q["answers"]),
                   "draft": ans.draft, "dropped": list(ans.dropped), "timings": ans.to_json()["timings"],
                   "citations": [{"n": c.n, "doc_id": c.doc_id, "quote": c.quote} for c in ans.citations],
                   "unverified": _scored(off, q["answers"]),
                   "ablated": {name: _scored(a, q["answers"]) for name, a in ablated.items()}}
            for target, a in ((row, ans), (row["unverified"], off)):
                target["citation_verdicts"], target["sentence_support"] = judge_answer(a, q["question_en"], judges)
            rows.append(row)
            print(f"[xquad {i + 1}/{len(sample)}] {'ok ' if row['contains_gold'] else 'BAD'} {q['question_en'][:60]}",
                  file=sys.stderr, flush=True)
        on = _summary(rows, list(judges))
        totals["answers"] = on
        if ablate:
            totals["ablation"] = {name: _ablated([r["ablated"][name] for r in rows]) for name in ablate}
        totals["verification"] = verification_table(on=on, off=_summary([r["unverified"] for r in rows], list(judges)),
                                                    answers=answers)
    return {"totals": totals, "rows": rows}


def _summary(scored: list[dict[str, Any]], judge_names: list[str]) -> dict[str, Any]:
    """Sample means of the answer scores, and citation precision/recall from the judged rows."""
    from rag.eval.runner import citation_totals

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in scored])) if scored else 0.0

    return {"sample": len(scored), "contains_gold": mean("contains_gold"), "token_f1": mean("token_f1"),
            "refused": mean("refused"),
            "untranslated": metrics.untranslated(("en", r["answer"], r["refused"]) for r in scored),
            **metrics.risk_coverage([(not r["refused"], not r["contains_gold"]) for r in scored]),
            **citation_totals([v for r in scored for v in r["citation_verdicts"]],
                              [v for r in scored for v in r["sentence_support"]], judge_names)}


def _ablated(scored: list[dict[str, Any]]) -> dict[str, float | None]:
    """Contains-gold, refused, answered-wrong and German words left, of one ablation's answers."""
    n = len(scored) or 1
    return {"contains_gold": sum(r["contains_gold"] for r in scored) / n,
            "refused": sum(r["refused"] for r in scored) / n,
            **metrics.risk_coverage([(not r["refused"], not r["contains_gold"]) for r in scored]),
            "untranslated": metrics.untranslated(("en", r["answer"], r["refused"]) for r in scored)}


def _scored(answer: Answer, golds: list[str]) -> dict[str, Any]:
    """XQuAD scores: a gold string contained (exact match) and the best token F1; refusals score 0."""
    em = not answer.refused and any(metrics.fact_present(answer.answer, [g]) for g in golds)
    f1 = 0.0 if answer.refused else max(metrics.token_f1(answer.answer, g) for g in golds)
    return {"answer": answer.answer, "refused": answer.refused, "contains_gold": em, "token_f1": f1}
