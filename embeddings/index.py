"""The vector ``Index`` interface and its FAISS implementation.

Exact search is the right default below tens of thousands of passages: it is
fast enough and needs no tuning. Above ``FLAT_MAX`` vectors a flat scan costs
tens of milliseconds per query on two cores, so ``choose_index`` switches to
an HNSW graph, whose recall@10 against exact search stays >= 0.95 at the
``EF_SEARCH`` below (measured by ``rag bench``). Both sit behind an id map so
passages keep their SQLite row ids as vector ids and vectors can be read back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

FLAT_MAX = 30_000
HNSW_M = 32
EF_CONSTRUCTION = 80
EF_SEARCH = 96


class Index(Protocol):
    """Inner-product search over normalised vectors, keyed by integer ids."""

    @property
    def size(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self, ids: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


def index_kind(n: int, flat_max: int = FLAT_MAX) -> str:
    """``flat`` for ``n`` vectors up to ``flat_max``, else ``hnsw``."""
    return "flat" if n <= flat_max else "hnsw"


def choose_index(n: int, dimension: int, flat_max: int = FLAT_MAX, ef_search: int = EF_SEARCH) -> FaissIndex:
    """An empty index of the kind that suits ``n`` vectors (see the module docstring)."""
    if index_kind(n, flat_max) == "flat":
        return FaissIndex(dimension)
    return FaissIndex.hnsw(dimension, ef_search=ef_search)


class FaissIndex:
    """A FAISS index (exact ``IndexFlatIP`` unless given another) behind an ``IndexIDMap2``."""

    def __init__(self, dimension: int, index: object | None = None) -> None:
        import faiss

        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @classmethod
    def for_size(cls, n: int, dimension: int) -> FaissIndex:
        """``choose_index`` with the defaults: what ingestion builds for ``n`` passages."""
        return choose_index(n, dimension)

    @classmethod
    def hnsw(cls, dimension: int, m: int = HNSW_M, ef_construction: int = EF_CONSTRUCTION,
             ef_search: int = EF_SEARCH) -> FaissIndex:
        import faiss

        inner = faiss.IndexHNSWFlat(dimension, m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = ef_construction
        inner.hnsw.efSearch = ef_search
        return cls(dimension, faiss.IndexIDMap2(inner))

    @property
    def kind(self) -> str:
        """``flat``, ``hnsw`` or the FAISS class name of anything else."""
        import faiss

        inner = faiss.downcast_index(self._index.index) if hasattr(self._index, "index") else self._index
        if isinstance(inner, faiss.IndexFlat):
            return "flat"
        if isinstance(inner, faiss.IndexHNSW):
            return "hnsw"
        return type(inner).__name__

    @property
    def ef_search(self) -> int | None:
        inner = self._hnsw()
        return None if inner is None else int(inner.hnsw.efSearch)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        inner = self._hnsw()
        if inner is not None:
            inner.hnsw.efSearch = value

    def _hnsw(self) -> Any:
        import faiss

        if not hasattr(self._index, "index"):
            return None
        inner = faiss.downcast_index(self._index.index)
        return inner if isinstance(inner, faiss.IndexHNSW) else None

    @property
    def size(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.shape[1] != self.dimension:
            raise ValueError(f"vector dimension {vecs.shape[1]} != index dimension {self.dimension}")
        self._index.add_with_ids(vecs, np.asarray(ids, dtype=np.int64))  # type: ignore[attr-defined]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if self.size == 0 or k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        scores, ids = self._index.search(q, min(k, self.size))  # type: ignore[attr-defined]
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for row, i in enumerate(ids):
            out[row] = self._index.reconstruct(int(i))  # type: ignore[attr-defined]
        return out

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))  # type: ignore[call-overload]

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)
