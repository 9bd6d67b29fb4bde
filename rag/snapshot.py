"""One generation as retrieval reads it: the live rows of its segments, numbered 0..n-1.

A generation is a list of segments, each with the articles removed from it since it was
written. ``Snapshot`` numbers the live passages and sentences of all of them consecutively
(segment by segment, rows in order), so callers index ``passages[pid]``, ``sentence_ids[pid]``
and ``sentence_vectors[sid]`` as they did when everything was one in-memory list. The numbers
belong to the snapshot: a later generation may number the same passage differently.

Nothing is read in full at load: documents and passages come from SQLite when asked for (a
few hundred per question; small caches keep the recent ones), vectors stay in their files (passage
codes mapped by FAISS, sentence rows read when asked for, see ``rag.rowfile``), the
lexical index is the segments' FTS5 tables. Loading reads ids, row ranges and lengths only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, overload

import numpy as np

from rag.lexical import Lexical, LexicalPart
from rag.manifest import Manifest
from rag.segment import DocRecord, Segment
from rag.types import Document, Passage

SCAN_CACHE_ROWS = 100_000
"""Up to this many sentences, the first full scan keeps a float32 copy of all sentence vectors
(at most 300 MB at 768 dimensions), so later scans cost a matrix product (2.5 ms for 50k rows)
instead of a float16 conversion (100 ms CPU for 50k rows, measured). Retrieval scans all
sentences only up to ``retrieve.SENTENCE_SCAN_MAX`` (50k); above it, it reads candidates' rows."""


class PassageIndex(Protocol):
    """What retrieval and the bench ask of a passage vector index."""

    @property
    def size(self) -> int: ...

    @property
    def dimension(self) -> int: ...

    @property
    def kind(self) -> str: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self, ids: np.ndarray) -> np.ndarray: ...


class Layout:
    """Where snapshot passage and sentence ``i`` live: which segment, which local row."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = tuple(segments)
        self.passage_rows: list[np.ndarray] = []
        self.sentence_rows: list[np.ndarray] = []
        self.dense_passage: list[np.ndarray] = []
        self.dead_passages: list[np.ndarray] = []
        counts = []
        p_base, s_base = [0], [0]
        for seg in self.segments:
            live = np.ones(seg.ref.passages, bool)
            for doc_id in seg.ref.removed:
                row = seg.row_of_doc[doc_id]
                live[seg.doc_first[row]:seg.doc_first[row] + seg.doc_count[row]] = False
            rows = np.flatnonzero(live)
            s_live = np.repeat(live, seg.sentence_count)
            dense = np.full(seg.ref.passages, -1, np.int64)
            dense[rows] = p_base[-1] + np.arange(len(rows))
            self.passage_rows.append(rows)
            self.sentence_rows.append(np.flatnonzero(s_live))
            self.dense_passage.append(dense)
            self.dead_passages.append(np.flatnonzero(~live))
            counts.append(seg.sentence_count[rows])
            p_base.append(p_base[-1] + len(rows))
            s_base.append(s_base[-1] + int(s_live.sum()))
        self.passage_base = np.array(p_base, np.int64)
        self.sentence_base = np.array(s_base, np.int64)
        self.sentence_count = np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, np.int64)
        self.first_sentence = np.concatenate([[0], np.cumsum(self.sentence_count)]).astype(np.int64)
        self.passages = int(p_base[-1])
        self.sentences = int(s_base[-1])

    def passage(self, pid: int) -> tuple[int, int]:
        if not 0 <= pid < self.passages:
            raise IndexError(f"passage {pid} of {self.passages}")
        seg = int(np.searchsorted(self.passage_base, pid, "right")) - 1
        return seg, int(self.passage_rows[seg][pid - self.passage_base[seg]])

    def split(self, ids: np.ndarray, base: np.ndarray, rows: list[np.ndarray]
              ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """For snapshot ``ids``: each segment with the positions in ``ids`` and the local rows there."""
        if len(ids) and (ids.min() < 0 or ids.max() >= base[-1]):
            raise IndexError(f"row out of range 0..{int(base[-1]) - 1}")
        where = np.searchsorted(base, ids, "right") - 1
        for seg in np.unique(where):
            at = np.flatnonzero(where == seg)
            yield int(seg), at, rows[seg][ids[at] - base[seg]]


class Documents(Mapping[str, Document]):
    """The live documents by id, in id order; each read from its segment when asked for."""

    def __init__(self, layout: Layout, cache: int = 256) -> None:
        self.layout = layout
        owner: dict[str, int] = {}
        for i, seg in enumerate(layout.segments):
            for doc_id in seg.doc_ids:
                if doc_id in seg.ref.removed:
                    continue
                if doc_id in owner:
                    raise ValueError(f"document {doc_id} is live in two segments")
                owner[doc_id] = i
        self.owner = dict(sorted(owner.items()))
        self._cache: _Cache[str, Document] = _Cache(cache)

    def __getitem__(self, doc_id: str) -> Document:
        seg = self.owner[doc_id]
        return self._cache.get(doc_id, lambda: self.layout.segments[seg].document(doc_id))

    def __iter__(self) -> Iterator[str]:
        return iter(self.owner)

    def __len__(self) -> int:
        return len(self.owner)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.owner

    def records(self) -> dict[str, DocRecord]:
        """Id, path and content hash of every live document, without reading texts."""
        out = {}
        for seg in self.layout.segments:
            out.update({r.doc_id: r for r in seg.records() if r.doc_id not in seg.ref.removed})
        return out

    def passage_range(self, doc_id: str) -> range:
        """The snapshot ids of the document's passages (consecutive)."""
        i = self.owner[doc_id]
        seg = self.layout.segments[i]
        row = seg.row_of_doc[doc_id]
        first = int(self.layout.dense_passage[i][seg.doc_first[row]]) if seg.doc_count[row] else 0
        return range(first, first + int(seg.doc_count[row]))


class Passages(Sequence[Passage]):
    """The live passages, ``passages[pid].passage_id == pid``; read from SQLite, recent ones cached."""

    def __init__(self, layout: Layout, cache: int = 4096) -> None:
        self.layout = layout
        self._cache: _Cache[int, Passage] = _Cache(cache)

    def __len__(self) -> int:
        return self.layout.passages

    @overload
    def __getitem__(self, pid: int) -> Passage: ...

    @overload
    def __getitem__(self, pid: slice) -> list[Passage]: ...

    def __getitem__(self, pid: int | slice) -> Passage | list[Passage]:
        if isinstance(pid, slice):
            return [self[i] for i in range(*pid.indices(len(self)))]
        pid = int(pid)
        if pid < 0:
            pid += len(self)
        seg, row = self.layout.passage(pid)
        return self._cache.get(pid, lambda: self.layout.segments[seg].passages(row, row + 1, pid)[0])

    def __iter__(self) -> Iterator[Passage]:
        for i, seg in enumerate(self.layout.segments):
            rows = self.layout.passage_rows[i]
            for run in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1) if len(rows) else []:
                for a in range(0, len(run), 2048):
                    start, stop = int(run[a]), int(run[min(a + 2048, len(run)) - 1]) + 1
                    yield from seg.passages(start, stop, int(self.layout.dense_passage[i][start]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class SentenceIds(Sequence[tuple[int, ...]]):
    """``sentence_ids[pid]``: the snapshot ids of passage ``pid``'s sentences, consecutive."""

    def __init__(self, layout: Layout) -> None:
        self.firsts = layout.first_sentence
        self.counts = layout.sentence_count

    def __len__(self) -> int:
        return len(self.counts)

    @overload
    def __getitem__(self, pid: int) -> tuple[int, ...]: ...

    @overload
    def __getitem__(self, pid: slice) -> list[tuple[int, ...]]: ...

    def __getitem__(self, pid: int | slice) -> tuple[int, ...] | list[tuple[int, ...]]:
        if isinstance(pid, slice):
            return [self[i] for i in range(*pid.indices(len(self)))]
        first = int(self.firsts[pid])
        return tuple(range(first, first + int(self.counts[pid])))

    def owners(self) -> np.ndarray:
        """The passage of every sentence."""
        return np.repeat(np.arange(len(self.counts), dtype=np.int64), self.counts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class SentenceVectors:
    """The live sentence vectors as one float32 matrix, read from the segments' float16 files."""

    def __init__(self, layout: Layout, dimension: int) -> None:
        self.layout = layout
        self.shape = (layout.sentences, dimension)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2
        self._scan: np.ndarray | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if self._scan is not None:
            return np.asarray(self._scan[key])
        if isinstance(key, slice):
            return self.rows(np.arange(*key.indices(len(self)), dtype=np.int64))
        ids = np.asarray(key, dtype=np.int64)
        if ids.ndim == 0:
            return self.rows(ids.reshape(1))[0]
        return self.rows(ids.reshape(-1)).reshape(*ids.shape, self.shape[1])

    def rows(self, ids: np.ndarray) -> np.ndarray:
        ids = np.where(ids < 0, ids + len(self), ids)
        out = np.empty((len(ids), self.shape[1]), np.float32)
        for seg, at, local in self.layout.split(ids, self.layout.sentence_base, self.layout.sentence_rows):
            out[at] = self.layout.segments[seg].sentences.take(local)
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        for a in range(0, len(self), 4096):
            yield from self[a:a + 4096]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def __matmul__(self, q: np.ndarray) -> np.ndarray:
        """Every sentence's dot product with ``q`` (see ``SCAN_CACHE_ROWS``)."""
        if len(self) > SCAN_CACHE_ROWS:
            return np.concatenate([self[a:a + 4096] @ q for a in range(0, len(self), 4096)]
                                  or [np.zeros(0, np.float32)])
        with self._lock:
            if self._scan is None:
                self._scan = self[:]
        return self._scan @ q


class SegmentedIndex:
    """Passage search over every segment's index, removed rows excluded, merged by score."""

    def __init__(self, layout: Layout, dimension: int) -> None:
        self.layout = layout
        self.dimension = dimension

    @property
    def size(self) -> int:
        return self.layout.passages

    @property
    def kind(self) -> str:
        kinds = {seg.index.kind for seg in self.layout.segments}
        return "hnsw" if "hnsw" in kinds else "flat"

    @property
    def ef_search(self) -> int | None:
        return next((s.index.ef_search for s in self.layout.segments if s.index.ef_search is not None), None)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        for seg in self.layout.segments:
            seg.index.ef_search = value

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        k = min(k, self.size)
        scores, ids = [np.zeros((len(q), 0), np.float32)], [np.zeros((len(q), 0), np.int64)]
        for i, seg in enumerate(self.layout.segments):
            if not len(self.layout.passage_rows[i]):
                continue
            s, local = seg.index.search(q, k, exclude=self.layout.dead_passages[i])
            found = local >= 0
            scores.append(np.where(found, s, -np.inf).astype(np.float32))
            ids.append(np.where(found, self.layout.dense_passage[i][np.where(found, local, 0)], -1))
        all_scores, all_ids = np.concatenate(scores, axis=1), np.concatenate(ids, axis=1)
        order = np.lexsort((all_ids, -all_scores), axis=1)[:, :k]
        top_ids = np.take_along_axis(all_ids, order, axis=1)
        top_scores = np.take_along_axis(all_scores, order, axis=1)
        return top_scores, top_ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        keys = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(keys), self.dimension), np.float32)
        for seg, at, local in self.layout.split(keys, self.layout.passage_base, self.layout.passage_rows):
            out[at] = self.layout.segments[seg].index.vectors(local)
        return out


@dataclass(frozen=True)
class Snapshot:
    """Everything one generation holds, as retrieval reads it (see the module docstring)."""

    manifest: Manifest
    documents: Documents
    passages: Passages
    sentence_ids: SentenceIds
    passage_index: PassageIndex
    sentence_vectors: SentenceVectors
    lexical: Lexical
    layout: Layout

    def passages_of(self, doc_id: str) -> list[Passage]:
        if doc_id not in self.documents:
            return []
        return [self.passages[i] for i in self.documents.passage_range(doc_id)]

    def passage_count(self, doc_id: str) -> int:
        return len(self.documents.passage_range(doc_id)) if doc_id in self.documents else 0

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self.layout.segments


def assemble(manifest: Manifest, segments: Sequence[Segment]) -> Snapshot:
    """The snapshot of opened segments; ``ValueError`` when they disagree with the manifest."""
    layout = Layout(segments)
    documents = Documents(layout)
    if (manifest.documents, manifest.passages, manifest.sentences) != (len(documents), layout.passages,
                                                                       layout.sentences):
        raise ValueError("the manifest counts other rows than its segments hold")
    lengths = [seg.terms[rows] for seg, rows in zip(segments, layout.passage_rows, strict=True)]
    lexical = Lexical([LexicalPart(seg.postings, dense) for seg, dense in zip(segments, layout.dense_passage,
                                                                              strict=True)],
                      np.concatenate(lengths) if lengths else np.zeros(0, np.int32))
    return Snapshot(manifest, documents, Passages(layout), SentenceIds(layout),
                    SegmentedIndex(layout, manifest.dimension), SentenceVectors(layout, manifest.dimension),
                    lexical, layout)


K = TypeVar("K")
V = TypeVar("V")


class _Cache(Generic[K, V]):
    """A small least-recently-used cache, safe between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value: V = make()
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
