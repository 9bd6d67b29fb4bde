"""Hybrid retrieval: dense (FAISS) and lexical (BM25) fused by reciprocal rank.

Dense search carries meaning across languages; BM25 over normalised tokens
catches the names and numbers that embeddings blur. Within the best passages
we then pick the sentences that matter, because a small model answers best
from a few relevant sentences, most relevant first.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.embedder import Embedder
from rag.store import Snapshot
from rag.textnorm import tokens
from rag.types import Evidence, Hit

RRF_K = 60


class BM25:
    """Okapi BM25 over pre-tokenised texts, with an inverted index for speed."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n = len(docs)
        self.lengths = np.array([len(d) for d in docs], dtype=np.float32)
        self.avg = float(self.lengths.mean()) if self.n else 0.0
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                postings[term].append((i, tf))
        self.postings = {
            t: (np.array([i for i, _ in p], dtype=np.int64), np.array([tf for _, tf in p], dtype=np.float32))
            for t, p in postings.items()
        }

    def scores(self, query: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for term in set(query):
            if term not in self.postings:
                continue
            ids, tf = self.postings[term]
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[ids] / (self.avg or 1.0))
            out[ids] += idf * tf * (self.k1 + 1) / norm
        return out


@dataclass(frozen=True)
class Retrieval:
    hits: tuple[Hit, ...]
    evidence: tuple[Evidence, ...]
    query_vector: np.ndarray
    best_similarity: float


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] += 1.0 / (k + rank + 1)
    return fused


class Retriever:
    """Searches one index snapshot; the embedder is passed in, never created here."""

    def __init__(self, snapshot: Snapshot, embedder: Embedder, candidates: int = 50) -> None:
        self.snapshot = snapshot
        self.embedder = embedder
        self.candidates = candidates
        self.bm25 = BM25([tokens(p.text + " " + snapshot.documents[p.doc_id].title) for p in snapshot.passages])

    def dense_ranking(self, qvec: np.ndarray, n: int) -> tuple[list[int], np.ndarray]:
        scores, ids = self.snapshot.passage_index.search(qvec[None, :], n)
        return [int(i) for i in ids[0] if i >= 0], scores[0]

    def lexical_ranking(self, query: str, n: int) -> list[int]:
        scores = self.bm25.scores(tokens(query))
        order = np.argsort(-scores, kind="stable")[:n]
        return [int(i) for i in order if scores[i] > 0]

    def search(self, query: str, top_k: int = 6, mode: str = "hybrid",
               qvec: np.ndarray | None = None) -> tuple[list[Hit], np.ndarray]:
        if qvec is None:
            qvec = self.embedder.embed_queries([query])[0]
        n = max(self.candidates, top_k)
        dense, _ = self.dense_ranking(qvec, n) if mode in ("hybrid", "dense") else ([], None)
        lexical = self.lexical_ranking(query, n) if mode in ("hybrid", "lexical") else []
        fused = rrf([r for r in (dense, lexical) if r])
        ranked = sorted(fused, key=lambda i: -fused[i])[:top_k]
        d_rank = {pid: r for r, pid in enumerate(dense)}
        l_rank = {pid: r for r, pid in enumerate(lexical)}
        hits = [Hit(self.snapshot.passages[pid], fused[pid], d_rank.get(pid), l_rank.get(pid)) for pid in ranked]
        return hits, qvec

    def retrieve(self, query: str, top_k: int = 6, max_sentences: int = 6) -> Retrieval:
        """Best passages, then their best sentences as numbered evidence."""
        hits, qvec = self.search(query, top_k)
        q_terms = set(tokens(query))
        scored = []
        for rank, hit in enumerate(hits):
            sids = self.snapshot.sentence_ids[hit.passage.passage_id]
            if not sids:
                continue
            sims = self.snapshot.sentence_vectors[list(sids)] @ qvec
            for sid, sent, sim in zip(sids, hit.passage.sentences, sims, strict=True):
                overlap = len(q_terms & set(tokens(sent.text))) / (len(q_terms) or 1)
                scored.append((float(sim) + 0.15 * overlap - 0.01 * rank, float(sim), hit, sent, sid))
        scored.sort(key=lambda t: -t[0])
        best = max((s[1] for s in scored), default=0.0)
        chosen = [s for s in scored if s[0] >= scored[0][0] - 0.25][:max_sentences] if scored else []
        evidence = tuple(Evidence(n=i + 1, passage=h.passage, sentence=s, score=sc, sentence_id=sid)
                         for i, (sc, _, h, s, sid) in enumerate(chosen))
        return Retrieval(tuple(hits), evidence, qvec, best)

    def claim_similarity(self, claims: Sequence[str], evidence: Sequence[Evidence]) -> np.ndarray:
        """Cosine of each claim (embedded as a query) with each evidence sentence's stored vector."""
        if not claims or not evidence:
            return np.zeros((len(claims), len(evidence)), np.float32)
        cvecs = self.embedder.embed_queries(list(claims))
        svecs = self.snapshot.sentence_vectors[[e.sentence_id for e in evidence]]
        return cvecs @ svecs.T
