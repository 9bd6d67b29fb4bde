"""One PostgreSQL generation as retrieval reads it: the same views as ``rag.snapshot``, read by SQL.

Loading pins the generation (a shared advisory lock held by the snapshot's connection, see
``rag.pgstore``), then lists the generation's passages and documents in one repeatable-read
transaction: ids, sentence counts and token counts only, a few bytes per passage. Everything
else is read by id when asked for, and since rows are never changed, only marked dead by a later
generation and deleted once no pin needs them, those reads stay consistent with the list for as
long as the snapshot lives. Passage ids in the database are global and increase with every
write; the snapshot numbers its live passages 0..n-1 in that order, as ``rag.snapshot`` numbers
segment rows, so ties break the same way in both backends.

What ranks stays in numpy, on the same float16 values the embedded store keeps: HNSW (pgvector,
inner product) picks the candidate passages (its iterative scan, relaxed order, skips rows of
other generations until enough are found) and their vectors are rescored here against the
float32 query; BM25 uses ``rag.lexical.Lexical`` on postings fetched per term. Postings were
preferred to BM25 in SQL because the arithmetic must be ``Lexical``'s float32 to rank
identically, and one indexed read per query term costs about a millisecond on loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from embeddings.index import EF_SEARCH
from rag.lexical import Lexical, LexicalPart
from rag.manifest import Manifest
from rag.segment import DocRecord
from rag.snapshot import SCAN_CACHE_ROWS, SentenceIds, _Cache
from rag.types import Document, Passage, Sentence

BLOCK = 2048
MARGIN = 16
"""Candidates fetched beyond the ``k`` asked for: the database orders by the query rounded to
float16, the rescoring here by the float32 query, so the last few places may differ."""


class Reader:
    """A snapshot's connection, shared by threads under a lock; ``rows`` runs one query."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.lock = threading.Lock()
        self._ef: int | None = None

    def rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.connection.execute(sql, args, binary=True).fetchall()

    def nearest(self, sql: str, args: tuple[object, ...], k: int) -> list[tuple[Any, ...]]:
        ef = max(EF_SEARCH, k)  # pgvector's HNSW returns at most hnsw.ef_search rows
        with self.lock:
            if self._ef is None:  # pgvector 0.8: go on past rows of other generations until k are found
                self.connection.execute("SET hnsw.iterative_scan = relaxed_order")
            if self._ef != ef:
                self.connection.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(min(ef, 1000)),))
                self._ef = ef
            return self.connection.execute(sql, args, binary=True).fetchall()

    def close(self) -> None:
        with self.lock:
            self.connection.close()


@dataclass(frozen=True)
class Listing:
    """The generation's live passages (global ids ascending) and documents, as loading found them."""

    generation: int
    pids: np.ndarray
    first_sid: np.ndarray
    sentence_count: np.ndarray
    terms: np.ndarray
    documents: dict[str, tuple[int, int, int]]
    """doc_id -> (document row, first passage id, passages)."""
    records: dict[str, DocRecord]

    @property
    def first_sentence(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sentence_count)]).astype(np.int64)

    def dense(self, pids: np.ndarray) -> np.ndarray:
        """Snapshot ids of global passage ids; -1 for those not in this generation."""
        pids = np.asarray(pids, dtype=np.int64)
        at = np.searchsorted(self.pids, pids)
        found = at < len(self.pids)
        found[found] = self.pids[at[found]] == pids[found]
        return np.where(found, at, -1)


def live(alias: str = "") -> str:
    """The SQL condition for rows live in a generation, which it takes twice as parameters."""
    a = f"{alias}." if alias else ""
    return f"{a}born <= %s AND ({a}dead IS NULL OR {a}dead > %s)"


class PgDocuments(Mapping[str, Document]):
    def __init__(self, reader: Reader, listing: Listing, cache: int = 256) -> None:
        self.reader = reader
        self.listing = listing
        self.owner = dict(sorted(listing.documents.items()))
        self._cache: _Cache[str, Document] = _Cache(cache)

    def __getitem__(self, doc_id: str) -> Document:
        row = self.owner[doc_id][0]
        return self._cache.get(doc_id, lambda: self._read(row))

    def _read(self, row: int) -> Document:
        found = self.reader.rows("SELECT doc_id, path, title, date, source, dateline, caption, body_start, "
                                 "content_hash, text FROM documents WHERE row_id = %s", (row,))
        doc_id, path, title, date, source, dateline, caption, body_start, content_hash, text = found[0]
        return Document(doc_id=doc_id, path=path, text=text, title=title, date=date, source=source, dateline=dateline,
                        caption=caption, body_start=body_start, content_hash=content_hash)

    def __iter__(self) -> Iterator[str]:
        return iter(self.owner)

    def __len__(self) -> int:
        return len(self.owner)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.owner

    def records(self) -> dict[str, DocRecord]:
        return dict(self.listing.records)

    def passage_range(self, doc_id: str) -> range:
        _, first_pid, count = self.owner[doc_id]
        if not count:
            return range(0)
        first = int(self.listing.dense(np.array([first_pid]))[0])
        return range(first, first + count)


class PgPassages(Sequence[Passage]):
    """``passages[pid]`` for snapshot ids, with their sentences; recent ones cached."""

    def __init__(self, reader: Reader, listing: Listing, cache: int = 4096) -> None:
        self.reader = reader
        self.listing = listing
        self._cache: _Cache[int, Passage] = _Cache(cache)

    def __len__(self) -> int:
        return len(self.listing.pids)

    @overload
    def __getitem__(self, pid: int) -> Passage: ...

    @overload
    def __getitem__(self, pid: slice) -> list[Passage]: ...

    def __getitem__(self, pid: int | slice) -> Passage | list[Passage]:
        if isinstance(pid, slice):
            return self.read(list(range(*pid.indices(len(self)))))
        pid = int(pid)
        if pid < 0:
            pid += len(self)
        if not 0 <= pid < len(self):
            raise IndexError(f"passage {pid} of {len(self)}")
        return self._cache.get(pid, lambda: self.read([pid])[0])

    def read(self, dense: list[int]) -> list[Passage]:
        """Passages by snapshot id, in the order asked, two queries for all of them."""
        if not dense:
            return []
        gids = [int(self.listing.pids[i]) for i in dense]
        rows = {r[0]: r for r in self.reader.rows(
            'SELECT pid, doc_id, ordinal, start, "end", text FROM passages WHERE pid = ANY(%s)', (gids,))}
        sentences: dict[int, list[Sentence]] = {}
        for pid, start, end, text in self.reader.rows(
                'SELECT pid, start, "end", text FROM sentences WHERE pid = ANY(%s) ORDER BY sid', (gids,)):
            sentences.setdefault(pid, []).append(Sentence(text, start, end))
        out = []
        for d, g in zip(dense, gids, strict=True):
            _, doc_id, ordinal, start, end, text = rows[g]
            out.append(Passage(d, doc_id, ordinal, text, start, end, tuple(sentences.get(g, ()))))
        return out

    def __iter__(self) -> Iterator[Passage]:
        for a in range(0, len(self), BLOCK):
            yield from self.read(list(range(a, min(a + BLOCK, len(self)))))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class PgSentenceIds(SentenceIds):
    def __init__(self, listing: Listing) -> None:
        self.firsts = listing.first_sentence
        self.counts = listing.sentence_count.astype(np.int64)


class PgSentenceVectors:
    """The generation's sentence vectors as one float32 matrix (``rag.snapshot.SentenceVectors``'s API)."""

    def __init__(self, reader: Reader, listing: Listing, dimension: int) -> None:
        self.reader = reader
        self.listing = listing
        self.firsts = listing.first_sentence
        self.shape = (int(self.firsts[-1]), dimension)
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
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(f"sentence out of range 0..{len(self) - 1}")
        owner = np.searchsorted(self.firsts, ids, "right") - 1
        if len(ids) > 4 * BLOCK:
            return self._all()[ids]
        gids = self.listing.first_sid[owner] + (ids - self.firsts[owner])
        out = np.empty((len(ids), self.shape[1]), np.float32)
        found = dict(self.reader.rows("SELECT sid, embedding FROM sentences WHERE sid = ANY(%s)",
                                      ([int(g) for g in np.unique(gids)],)))
        for i, g in enumerate(gids):
            out[i] = found[int(g)]
        return out

    def _all(self) -> np.ndarray:
        """Every sentence vector of the generation, in snapshot order (sid order is passage order)."""
        g = self.listing.generation
        rows = self.reader.rows("SELECT s.embedding FROM sentences s JOIN passages p USING (pid) "
                                f"WHERE {live('p')} ORDER BY s.sid", (g, g))
        if len(rows) != len(self):
            raise LookupError(f"generation {g} lists {len(self)} sentences, the database holds {len(rows)}")
        return np.stack([r[0] for r in rows]).astype(np.float32) if rows else np.zeros(self.shape, np.float32)

    def __iter__(self) -> Iterator[np.ndarray]:
        yield from self[:]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def __matmul__(self, q: np.ndarray) -> np.ndarray:
        if len(self) > SCAN_CACHE_ROWS:
            return self._all() @ q
        with self._lock:
            if self._scan is None:
                self._scan = self._all()
        return self._scan @ q


class PgPassageIndex:
    """Passage search by pgvector HNSW (inner product on ``halfvec``), rescored in float32 here."""

    def __init__(self, reader: Reader, listing: Listing, dimension: int) -> None:
        self.reader = reader
        self.listing = listing
        self.dimension = dimension

    @property
    def size(self) -> int:
        return len(self.listing.pids)

    @property
    def kind(self) -> str:
        return "pgvector-hnsw"

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        k = min(k, self.size)
        scores = np.full((len(q), k), -np.inf, np.float32)
        ids = np.full((len(q), k), -1, np.int64)
        g = self.listing.generation
        d = self.dimension
        wide = k + max(MARGIN, k // 4)
        for i, vector in enumerate(q):
            rows = self.reader.nearest(
                f"SELECT pid, embedding FROM passages WHERE dim = {d} AND {live()} "
                f"ORDER BY embedding::halfvec({d}) <#> %s::halfvec({d}) LIMIT %s", (g, g, vector, wide), wide)
            if not rows:
                continue
            dense = self.listing.dense(np.array([r[0] for r in rows], np.int64))
            exact = np.stack([r[1] for r in rows]).astype(np.float32) @ vector
            order = np.lexsort((dense, -exact))[:k]
            scores[i, :len(order)] = exact[order]
            ids[i, :len(order)] = dense[order]
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        gids = [int(self.listing.pids[int(i)]) for i in np.asarray(ids, dtype=np.int64)]
        found = dict(self.reader.rows("SELECT pid, embedding FROM passages WHERE pid = ANY(%s)", (gids,)))
        return np.stack([found[g] for g in gids]).astype(np.float32) if gids else np.zeros((0, self.dimension),
                                                                                             np.float32)


class PgPostings:
    """A term's postings as snapshot ids; what ``rag.lexical.Lexical`` reads from a segment."""

    def __init__(self, reader: Reader, listing: Listing) -> None:
        self.reader = reader
        self.listing = listing

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self.reader.rows("SELECT pid, tf FROM postings WHERE term = %s", (term,))
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        dense = self.listing.dense(np.array([r[0] for r in rows], np.int64))
        tf = np.array([r[1] for r in rows], np.float32)
        keep = dense >= 0
        order = np.argsort(dense[keep], kind="stable")
        return dense[keep][order], tf[keep][order]


@dataclass(frozen=True)
class PgSnapshot:
    """Everything one PostgreSQL generation holds, as retrieval reads it (``rag.backend.IndexSnapshot``)."""

    manifest: Manifest
    generation: int
    documents: PgDocuments
    passages: PgPassages
    sentence_ids: PgSentenceIds
    passage_index: PgPassageIndex
    sentence_vectors: PgSentenceVectors
    lexical: Lexical
    reader: Reader

    def passages_of(self, doc_id: str) -> list[Passage]:
        if doc_id not in self.documents:
            return []
        return self.passages.read(list(self.documents.passage_range(doc_id)))

    def passage_count(self, doc_id: str) -> int:
        return len(self.documents.passage_range(doc_id)) if doc_id in self.documents else 0

    def close(self) -> None:
        """Release the pin on this generation (closing the connection); the snapshot is unusable after."""
        self.reader.close()


def assemble(manifest: Manifest, listing: Listing, reader: Reader) -> PgSnapshot:
    dim = manifest.dimension
    identity = np.arange(len(listing.pids), dtype=np.int64)
    lexical = Lexical([LexicalPart(PgPostings(reader, listing), identity)],  # type: ignore[arg-type]
                      listing.terms.astype(np.int32))
    return PgSnapshot(manifest, listing.generation, PgDocuments(reader, listing), PgPassages(reader, listing),
                      PgSentenceIds(listing), PgPassageIndex(reader, listing, dim),
                      PgSentenceVectors(reader, listing, dim), lexical, reader)
