"""Retrieval without embedding passages: can ingest skip its passage runs (60% of its embedder time)?

Variants of the hybrid search, same indexes and queries:
  shipped   passage vectors (a run per passage) + best-sentence vectors + BM25, by reciprocal rank;
  no-pass   best-sentence vectors + BM25 only;
  mean      the passage ranking from the unit mean of each passage's sentence vectors (no run).
Recall@1/4/5 of the gold passage (seeds, GNAD dev) or gold article (XQuAD), as ``rag eval`` counts them.
Usage: python recall.py
"""

from __future__ import annotations

import numpy as np

import rag.retrieve as retrieve_module
from rag.eval import metrics
from rag.eval.runner import gold_passages, qa_dataset, standalone_query
from rag.eval.xquad import build_index, load_xquad
from rag.factory import build_embedder
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.store import Store

settings = Settings.from_env()
embedder = build_embedder(settings)
shipped_rrf = retrieve_module.rrf
variant = "shipped"
mean_vectors: np.ndarray | None = None


def patched_rrf(rankings, k=retrieve_module.RRF_K, weights=None):  # type: ignore[no-untyped-def]
    if variant == "no-pass" and len(rankings) == 3:
        rankings, weights = rankings[1:], (weights[1:] if weights else None)
    return shipped_rrf(rankings, k, weights)


retrieve_module.rrf = patched_rrf


class MeanRetriever(Retriever):
    def dense_ranking(self, qvec, n):  # type: ignore[no-untyped-def]
        if variant != "mean":
            return super().dense_ranking(qvec, n)
        assert mean_vectors is not None
        order = np.argsort(-(mean_vectors @ qvec))[:n]
        return [int(i) for i in order], None


def means(retriever: Retriever) -> np.ndarray:
    snap = retriever.snapshot
    out = np.zeros((len(snap.passages), snap.sentence_vectors.shape[1]), dtype=np.float32)
    for pid in range(len(snap.passages)):
        sids = snap.sentence_ids[pid]
        if sids:
            v = np.asarray(snap.sentence_vectors[sids], dtype=np.float32).mean(0)
            out[pid] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def table(name: str, retriever: Retriever, cases: list[tuple[str, object, bool]]) -> None:
    """cases: (query, gold, by_doc) with gold a set of passage ids, or a doc id when by_doc."""
    global variant, mean_vectors
    mean_vectors = means(retriever)
    qvecs = embedder.embed_queries([q for q, _, _ in cases])
    for variant in ("shipped", "no-pass", "mean"):
        ranks = []
        for (query, gold, by_doc), qv in zip(cases, qvecs, strict=True):
            hits, _, _ = retriever.search(query, top_k=50, qvec=qv)
            if by_doc:
                ranks.append(metrics.first_rank(list(dict.fromkeys(h.passage.doc_id for h in hits)), [gold]))
            else:
                ranks.append(metrics.first_rank([h.passage.passage_id for h in hits], gold))
        r = metrics.retrieval_metrics(ranks, (1, 4, 5, 10))
        print(f"| {name} | {variant} | {len(cases)} | " + " | ".join(f"{r[f'recall@{k}']:.3f}" for k in (1, 4, 5, 10))
              + f" | {r['mrr']:.3f} |", flush=True)


print("| set | variant | questions | r@1 | r@4 | r@5 | r@10 | mrr |\n|---|---|---|---|---|---|---|---|")
for ds in ("seeds", "gnad"):
    _, items, s = qa_dataset(ds, settings, embedder)
    retriever = MeanRetriever(Store(s.index_path).load(), embedder)
    cases = [(standalone_query(i.question, i.history), gold_passages(i, retriever.snapshot), False)
             for i in items if i.answerable and i.support]
    table(ds, retriever, [c for c in cases if c[1]])
passages, questions = load_xquad()
store = build_index(settings, embedder, passages)
table("xquad", MeanRetriever(store.load(), embedder),
      [(q["question_en"], q["gold_passage_id"], True) for q in questions])
