"""Retrieval on XQuAD and the seeds QA set from both index backends, side by side.

    python -m rag.eval.store_compare --store-url postgresql://user@host/db [--limit N] [--out report.json]

The same articles are indexed into the embedded store and into PostgreSQL (schemas
``rag_compare_seeds`` and ``rag_compare_xquad``; the embedding cache embeds each text once),
every question is embedded once and the same query vector goes to both, so any difference is
the store's: HNSW against FAISS, float16 query rounding in the database. The claim to check is
that recall@5 of the two stays within ``TOLERANCE``; the exit status says whether it did.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.embedder import Embedder
from rag.backend import IndexSnapshot, IndexStore
from rag.eval import metrics
from rag.eval.runner import QAItem, gold_passages, load_qa
from rag.eval.xquad import load_xquad
from rag.ingest import Ingestor
from rag.pipeline import standalone_query
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.store import Store
from rag.types import Document, text_digest

TOLERANCE = 0.01
MODES = (("fused", "hybrid"), ("dense", "dense"), ("bm25", "lexical"))


@dataclass(frozen=True)
class Backend:
    """A named store, and how to make an empty one of it for a data set."""

    name: str
    store_for: Callable[[str], IndexStore]


def embedded(home: Path) -> Backend:
    return Backend("embedded", lambda dataset: Store(home / f"compare-{dataset}-index"))


def postgres(url: str) -> Backend:
    from rag.pgstore import PgStore

    return Backend("postgres", lambda dataset: PgStore(url, schema=f"rag_compare_{dataset}"))


def _search_ranks(snap: IndexSnapshot, embedder: Embedder, queries: Sequence[str], qvecs: np.ndarray,
                  key: Callable[[Any], Any], golds: Sequence[set[Any]]) -> tuple[dict[str, list[int | None]], float]:
    retriever = Retriever(snap, embedder)
    ranks: dict[str, list[int | None]] = {name: [] for name, _ in MODES}
    started = time.perf_counter()
    for query, qv, gold in zip(queries, qvecs, golds, strict=True):
        for name, mode in MODES:
            hits, _, _ = retriever.search(query, top_k=50, mode=mode, qvec=qv)
            ranks[name].append(metrics.first_rank(list(dict.fromkeys(key(h) for h in hits)), gold))
    per_query = (time.perf_counter() - started) / max(1, len(queries) * len(MODES))
    return ranks, per_query


def xquad_documents(passages: list[dict[str, Any]]) -> list[Document]:
    return [Document(doc_id=p["id"], path="", text=p["text"], title=p["title"], content_hash=text_digest(p["text"]))
            for p in passages]


def compare_xquad(backends: Sequence[Backend], embedder: Embedder, cache: Any, chunk_chars: int,
                  folder: Path | None, limit: int | None) -> dict[str, Any]:
    """XQuAD: English questions over German passages; a hit is the gold passage's article."""
    passages, questions = load_xquad(folder)
    questions = questions[:limit] if limit else questions
    docs = xquad_documents(passages)
    queries = [q["question_en"] for q in questions]
    qvecs = embedder.embed_queries(queries) if queries else np.zeros((0, embedder.dimension), np.float32)
    golds = [{q["gold_passage_id"]} for q in questions]
    out: dict[str, Any] = {"questions": len(questions), "passages": len(passages)}
    for backend in backends:
        store = backend.store_for("xquad")
        Ingestor(store, embedder, chunk_chars, cache=cache).ingest_documents(docs)
        ranks, seconds = _search_ranks(store.load(), embedder, queries, qvecs, lambda h: h.passage.doc_id, golds)
        out[backend.name] = {**{n: metrics.retrieval_metrics(r) for n, r in ranks.items()},
                             "search_ms": round(seconds * 1000, 2)}
    return out


def compare_seeds(backends: Sequence[Backend], embedder: Embedder, cache: Any, chunk_chars: int, seeds: Path,
                  items: Sequence[QAItem] | None = None) -> dict[str, Any]:
    """The seeds QA set over the seeds articles; a hit is a passage holding a gold support quote."""
    items = [i for i in (items if items is not None else load_qa()) if i.answerable]
    queries = [standalone_query(i.question, i.history) for i in items]
    qvecs = embedder.embed_queries(queries) if queries else np.zeros((0, embedder.dimension), np.float32)
    out: dict[str, Any] = {"questions": len(items)}
    for backend in backends:
        store = backend.store_for("seeds")
        Ingestor(store, embedder, chunk_chars, cache=cache).ingest([seeds])
        snap = store.load()
        golds = [gold_passages(i, snap) for i in items]
        kept = [n for n, g in enumerate(golds) if g]
        ranks, seconds = _search_ranks(snap, embedder, [queries[n] for n in kept], qvecs[kept],
                                       lambda h: h.passage.passage_id, [golds[n] for n in kept])
        out[backend.name] = {**{n: metrics.retrieval_metrics(r) for n, r in ranks.items()},
                             "search_ms": round(seconds * 1000, 2), "with_gold": len(kept)}
    return out


def verdict(report: dict[str, Any], tolerance: float = TOLERANCE) -> dict[str, float]:
    """|recall@5 difference| of the fused ranking, per data set."""
    return {name: abs(r["embedded"]["fused"]["recall@5"] - r["postgres"]["fused"]["recall@5"])
            for name, r in report.items() if isinstance(r, dict) and "embedded" in r and "postgres" in r}


def table(report: dict[str, Any]) -> str:
    lines = ["data set  backend   ranking  recall@1  recall@5  recall@10  mrr    search ms"]
    for dataset in ("seeds", "xquad"):
        if dataset not in report:
            continue
        for backend in ("embedded", "postgres"):
            r = report[dataset][backend]
            for name, _ in MODES:
                m = r[name]
                lines.append(f"{dataset:<9} {backend:<9} {name:<8} {m['recall@1']:.3f}     {m['recall@5']:.3f}     "
                             f"{m['recall@10']:.3f}      {m['mrr']:.3f}  {r['search_ms']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None, embedder: Embedder | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.store_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store-url", default=None, help="postgresql://… (default: RAG_STORE_URL)")
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    parser.add_argument("--xquad-dir", type=Path, default=None, help="default: ../shared/xquad or RAG_XQUAD_DIR")
    parser.add_argument("--datasets", default="seeds,xquad")
    parser.add_argument("--limit", type=int, default=None, help="XQuAD questions (default: all)")
    parser.add_argument("--out", type=Path, default=Path("reports") / "store_compare.json")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    url = args.store_url or settings.store_url
    if not url:
        parser.error("give --store-url or set RAG_STORE_URL")
    from rag.factory import build_embed_cache, build_embedder

    embedder = embedder or build_embedder(settings)
    cache = build_embed_cache(settings)
    backends = [embedded(settings.home), postgres(url)]
    report: dict[str, Any] = {"embedder": embedder.model_id, "tolerance": TOLERANCE}
    wanted = {d.strip() for d in args.datasets.split(",") if d.strip()}
    if "seeds" in wanted:
        report["seeds"] = compare_seeds(backends, embedder, cache, settings.chunk_chars, args.seeds)
    if "xquad" in wanted:
        report["xquad"] = compare_xquad(backends, embedder, cache, settings.chunk_chars, args.xquad_dir, args.limit)
    gaps = verdict(report)
    report["recall@5_gap"] = gaps
    report["within_tolerance"] = all(g <= TOLERANCE for g in gaps.values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"recall@5 gap (fused): {json.dumps({k: round(v, 4) for k, v in gaps.items()})} "
          f"{'within' if report['within_tolerance'] else 'OUTSIDE'} {TOLERANCE}; report in {args.out}")
    return 0 if report["within_tolerance"] else 1


if __name__ == "__main__":
    sys.exit(main())
