"""XQuAD (German passages, English questions): cross-lingual retrieval and answers.

The data is read from ``../shared/xquad`` (or ``RAG_XQUAD_DIR``) and indexed
into its own folder under the cache; nothing of it is copied into the project.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.embedder import Embedder
from rag.errors import InputError
from rag.eval import metrics
from rag.generate import Generator
from rag.ingest import Ingestor, tqdm_progress
from rag.settings import Settings
from rag.store import Store
from rag.types import Document


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


def build_index(settings: Settings, embedder: Embedder, passages: list[dict[str, Any]]) -> Store:
    """Index the passages as documents (``text`` only) in a folder of their own, once."""
    root = settings.home / "xquad-index"
    store = Store(root)
    docs = [Document(doc_id=p["id"], path="", text=p["text"], title=p["title"],
                     content_hash=hashlib.sha256(p["text"].encode()).hexdigest()) for p in passages]
    Ingestor(store, embedder, settings.chunk_chars, tqdm_progress("xquad embedding")).ingest_documents(docs)
    return store


def run_xquad(settings: Settings, embedder: Embedder, limit: int | None,
              generator: Generator | None) -> dict[str, Any]:
    """Retrieval over all questions; with a generator, answers on a fixed sample too."""
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
        from rag.eval.runner import XQUAD_SAMPLE, xquad_sample

        xsettings = replace(settings, index_dir=store.root)
        assistant = build_assistant(xsettings, embedder=embedder, generator=generator)
        sample = xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions))
        for i, idx in enumerate(sample):
            q = questions[idx]
            ans = assistant.ask(q["question_en"])
            golds = q["answers"]
            em = any(metrics.fact_present(ans.answer, [g]) for g in golds) and not ans.refused
            f1 = 0.0 if ans.refused else max(metrics.token_f1(ans.answer, g) for g in golds)
            rows.append({"id": q["id"], "question": q["question_en"], "answer": ans.answer, "refused": ans.refused,
                         "gold": golds, "contains_gold": em, "token_f1": f1, "timings": ans.to_json()["timings"],
                         "citations": [{"n": c.n, "doc_id": c.doc_id, "quote": c.quote} for c in ans.citations]})
            print(f"[xquad {i + 1}/{len(sample)}] {'ok ' if em else 'BAD'} {q['question_en'][:60]}",
                  file=sys.stderr, flush=True)
        totals["answers"] = {
            "sample": len(rows),
            "contains_gold": float(np.mean([r["contains_gold"] for r in rows])) if rows else 0.0,
            "token_f1": float(np.mean([r["token_f1"] for r in rows])) if rows else 0.0,
            "refused": float(np.mean([r["refused"] for r in rows])) if rows else 0.0,
        }
    return {"totals": totals, "rows": rows}
