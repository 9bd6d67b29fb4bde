"""The in-memory BM25 that ``rag.lexical`` replaced, kept only as the reference its rankings are tested against.

It was rebuilt from every passage at each start; the persistent FTS5 index must rank as it did.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from rag.lexical import passage_terms
from rag.retrieve import top_indices
from rag.snapshot import Snapshot
from rag.textnorm import tokens


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


def reference(snapshot: Snapshot) -> BM25:
    """The BM25 the retriever used to build at start, over the snapshot's passages in its order."""
    return BM25([passage_terms(p.text, snapshot.documents[p.doc_id].title) for p in snapshot.passages])


def ranking(bm25: BM25, query: str, n: int) -> list[int]:
    """What ``Retriever.lexical_ranking`` returned with the in-memory BM25."""
    scores = bm25.scores(tokens(query))
    return [int(i) for i in top_indices(scores, n) if scores[i] > 0]
