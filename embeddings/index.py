"""The vector ``Index`` interface and its FAISS implementation.

Exact search is the right default below tens of thousands of passages: it is
fast enough and needs no tuning. Above ``FLAT_MAX`` vectors a flat scan costs
tens of milliseconds per query on two cores, so ``choose_index`` switches to
an HNSW graph, whose recall@10 against exact search stays >= 0.95 at the
``EF_SEARCH`` below (measured by ``rag bench``). Both sit behind an id map so
passages keep their SQLite row ids as vector ids and vectors can be read back.

The index store keeps *compact* indexes (``FaissIndex.compact``): the same two kinds over
float16 codes, ids being row numbers, so a saved one is half the bytes and ``load(mmap=True)``
maps its codes instead of reading them. On unit vectors float16 moves a cosine by about 1e-3,
which keeps recall@10 against exact float32 search at 1.0 on clustered vectors (tests/test_index.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

FLAT_MAX = 30_000
HNSW_M = 32
EF_CONSTRUCTION = 200
"""Candidates kept while linking each new vector. At 80, recall@10 of a 500,000-passage HNSW segment (the
archive bench's 100,000 synthetic articles) was 0.922 at efSearch 96, and 0.942 even at 512: the graph,
not the search, fell short. At 200: 0.99 at 96, for 1.7 times the write (502 s instead of 302 s for
the whole archive, FTS5 and SQLite included); tiny next to embedding 500,000 passages."""
EF_SEARCH = 512
"""Candidates an HNSW search keeps, set on every load so that older indexes search the same way. A user's
question is not an archive sentence: at 100,000 synthetic articles, recall@10 against exact search for
held-out queries was 0.856 at 96, 0.948 at 256 and 0.984 at 512 (the archive's own sentences: 0.996 to
0.998), for a dense search of 3.3 ms p95 at 512 against 0.5 ms at 96 (``rag bench --archive``)."""


class Index(Protocol):
    """Inner-product search over normalised vectors, keyed by integer ids."""

    @property
    def size(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]: ...

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
    def compact(cls, n: int, dimension: int, flat_max: int = FLAT_MAX, ef_search: int = EF_SEARCH) -> FaissIndex:
        """An empty float16 index of the kind that suits ``n`` vectors, without an id map (ids are rows)."""
        import faiss

        fp16 = faiss.ScalarQuantizer.QT_fp16
        if index_kind(n, flat_max) == "flat":
            return cls(dimension, faiss.IndexScalarQuantizer(dimension, fp16, faiss.METRIC_INNER_PRODUCT))
        inner = faiss.IndexHNSWSQ(dimension, fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
        inner.hnsw.efConstruction = EF_CONSTRUCTION
        inner.hnsw.efSearch = ef_search
        return cls(dimension, inner)

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

        inner = self._inner()
        if isinstance(inner, faiss.IndexFlat | faiss.IndexScalarQuantizer):
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

    def _inner(self) -> Any:
        """The index behind the id map, if there is one."""
        import faiss

        return faiss.downcast_index(self._index.index) if hasattr(self._index, "index") else self._index

    def _hnsw(self) -> Any:
        import faiss

        inner = self._inner()
        return inner if isinstance(inner, faiss.IndexHNSW) else None

    def check(self) -> None:
        """``ValueError`` if an HNSW graph points outside the index: a damaged file would make a
        search read out of bounds. Looks at the graph in place (13 ms for 133k nodes); a flat
        index has nothing to check."""
        import faiss

        inner = self._hnsw()
        if inner is None:
            return
        graph, n = inner.hnsw, self.size

        def view(vector: Any) -> np.ndarray:
            return faiss.rev_swig_ptr(vector.data(), vector.size()) if vector.size() else np.zeros(0, np.int64)

        neighbors, offsets, levels = view(graph.neighbors), view(graph.offsets), view(graph.levels)
        if not (len(levels) == n and len(offsets) == n + 1 and (n == 0 or (
                offsets[0] == 0 and int(offsets[-1]) == len(neighbors) and levels.min() >= 1
                and (np.diff(offsets.astype(np.int64)) >= 0).all() and neighbors.min() >= -1
                and neighbors.max() < n and -1 <= graph.entry_point < n))):
            raise ValueError("the HNSW graph does not fit its index")

    @property
    def size(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under ``ids``; an index without an id map (``compact``) takes them as the next rows."""
        if len(ids) == 0:
            return
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.shape[1] != self.dimension:
            raise ValueError(f"vector dimension {vecs.shape[1]} != index dimension {self.dimension}")
        if hasattr(self._index, "id_map"):
            self._index.add_with_ids(vecs, np.asarray(ids, dtype=np.int64))  # type: ignore[attr-defined]
            return
        if not np.array_equal(ids, np.arange(self.size, self.size + len(ids))):
            raise ValueError("an index without an id map numbers its vectors by row")
        self._index.add(vecs)  # type: ignore[attr-defined]

    def search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best ids per query (fewer, padded with -1, when ``exclude`` leaves fewer).

        One query is searched on this thread alone: FAISS opens a parallel region for every flat
        float16 search, even of one query, and on two busy cores waking the second thread cost up to
        80 ms (p95 of a whole retrieval over nine segments at 20k articles: 80 ms, 14 ms without).
        ``omp_set_num_threads`` binds the calling thread only, so other threads keep theirs.
        """
        import faiss

        q = np.ascontiguousarray(queries, dtype=np.float32)
        if self.size == 0 or k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if len(q) != 1:
            return self._search(q, k, exclude)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self._search(q, k, exclude)
        finally:
            faiss.omp_set_num_threads(threads)

    def _search(self, q: np.ndarray, k: int, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if exclude is None or len(exclude) == 0:
            return self._index.search(q, min(k, self.size))  # type: ignore[attr-defined,no-any-return]
        excluded = faiss.IDSelectorBatch(np.ascontiguousarray(exclude, dtype=np.int64))
        selector = faiss.IDSelectorNot(excluded)  # holds a bare pointer: ``excluded`` must live until the search ends
        hnsw = self._hnsw()
        params = (faiss.SearchParametersHNSW(sel=selector, efSearch=int(hnsw.hnsw.efSearch))  # type: ignore[attr-defined]
                  if hnsw is not None else faiss.SearchParameters(sel=selector))  # type: ignore[call-arg]
        scores, ids = self._index.search(q, min(k, self.size), params=params)  # type: ignore[attr-defined]
        del excluded
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` as float32 (decoded, for a compact index)."""
        keys = np.ascontiguousarray(ids, dtype=np.int64)
        if len(keys) == 0:
            return np.zeros((0, self.dimension), np.float32)
        return np.asarray(self._index.reconstruct_batch(keys), dtype=np.float32)  # type: ignore[attr-defined]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))  # type: ignore[call-overload]

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> FaissIndex:
        """Read a saved index; with ``mmap`` the codes of a flat or compact one are mapped, not read
        (FAISS >= 1.10 has the flag; an older one reads them)."""
        import faiss

        flag = getattr(faiss, "IO_FLAG_MMAP_IFC", 0) if mmap else 0
        index = faiss.read_index(str(path), flag)
        return cls(index.d, index)
