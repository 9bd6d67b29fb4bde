"""One index segment: the articles of one write with their passages, sentences, vectors and postings.

A segment is a folder written once and never changed, so generations can share it:
- ``passages.sqlite``: a catalog (id, path, hash and passage rows of each document, small, so
  opening reads it quickly), the documents, passages and sentences numbered from 0 within the
  segment, per-passage arrays, and the FTS5 lexical table (``rag.lexical``); opened read-only
  and ``immutable``, so SQLite neither locks nor looks for a journal;
- ``passages.faiss``: the passage vectors in float16 (``FaissIndex.compact``: flat, or HNSW above
  ``FLAT_MAX``), their codes memory-mapped on open;
- ``sentences.npy``: the sentence vectors in float16, read row by row with ``preadv``
  (``rag.rowfile``: a map of it counted in the app's RSS, 2.83 GB at 100,000 articles).
Float16 halves the bytes of float32 and keeps cosines within about 1e-3 (recall figures in
``tests/test_index.py`` and ``tests/test_store_scale.py``). Opening reads the small tables only
(ids, row ranges, lengths); texts are read when asked for.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.index import EF_SEARCH, FaissIndex
from rag import lexical
from rag.errors import IndexError_, printable
from rag.manifest import FileCheck, SegmentRef
from rag.rowfile import RowFile
from rag.types import Document, Passage, Sentence

FILES = ("passages.sqlite", "passages.faiss", "sentences.npy")
BLOCK = 4096
"""Vectors are moved this many rows at a time, so no copy of a whole matrix is ever made."""

_SCHEMA = """
CREATE TABLE catalog (doc_id TEXT PRIMARY KEY, path TEXT, content_hash TEXT, first_passage INTEGER,
    passages INTEGER) WITHOUT ROWID;
CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT, date TEXT, source TEXT, dateline TEXT,
    caption TEXT, body_start INTEGER, text TEXT);
CREATE TABLE passages (passage_id INTEGER PRIMARY KEY, doc_id TEXT, ordinal INTEGER,
    start INTEGER, "end" INTEGER, text TEXT);
CREATE TABLE sentences (sentence_id INTEGER PRIMARY KEY, passage_id INTEGER, start INTEGER,
    "end" INTEGER, text TEXT);
CREATE TABLE arrays (name TEXT PRIMARY KEY, data BLOB);
"""
_DOCUMENT = ("SELECT d.doc_id, c.path, d.title, d.date, d.source, d.dateline, d.caption, d.body_start, "
             "c.content_hash, d.text FROM documents d JOIN catalog c USING (doc_id)")

Article = tuple[Document, Sequence[Passage]]
"""A document and its passages (their sentences included), as a segment stores them."""


@dataclass(frozen=True)
class Batch:
    """New articles and their vectors, to be written as one segment.

    Passages follow their documents' order; ``sentence_vectors`` has a row per sentence in
    passage order. Vectors may be float16 already (``Ingestor`` keeps them so, halving its memory).
    """

    documents: tuple[Document, ...]
    passages: tuple[tuple[Passage, ...], ...]
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray

    def streams(self) -> Streams:
        return (iter(zip(self.documents, self.passages, strict=True)), blocks(self.passage_vectors),
                blocks(self.sentence_vectors))

    def __len__(self) -> int:
        return len(self.documents)


@dataclass(frozen=True)
class DocRecord:
    """What an update needs to know of an indexed article, without its text."""

    doc_id: str
    path: str
    content_hash: str


Streams = tuple[Iterator[Article], Iterator[np.ndarray], Iterator[np.ndarray]]
"""What a segment is written from: its articles, then its passage and sentence vectors in blocks."""


def write(folder: Path, streams: Streams, dimension: int) -> SegmentRef:
    """Write a segment into the new folder ``folder`` (not fsynced); its entry is named after the folder."""
    articles, passage_vectors, sentence_vectors = streams
    folder.mkdir()
    n_d, n_p, n_s = _write_tables(folder / "passages.sqlite", articles)
    index = FaissIndex.compact(n_p, dimension)
    at = 0
    for block in passage_vectors:
        index.add(np.arange(at, at + len(block)), np.asarray(block, dtype=np.float32))
        at += len(block)
    if at != n_p:
        raise ValueError(f"{at} passage vectors for {n_p} passages")
    index.save(folder / "passages.faiss")
    at = _write_npy(folder / "sentences.npy", sentence_vectors, n_s, dimension)
    if at != n_s:
        raise ValueError(f"{at} sentence vectors for {n_s} sentences")
    return SegmentRef(folder.name, n_d, n_p, n_s, {name: FileCheck.of(folder / name) for name in FILES})


def _write_npy(path: Path, vectors: Iterator[np.ndarray], rows: int, dimension: int) -> int:
    """Write ``rows`` float16 vectors, block by block, as a .npy file; return the rows written.

    Written, not memory-mapped: the pages of a mapped file being filled count in the writer's
    resident memory until it is unmapped (the whole sentence matrix a second time, while the
    batch still holds it), where written pages are the page cache's to flush and drop."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float16)), "fortran_order": False,
              "shape": (rows, dimension)}
    at = 0
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for block in vectors:
            data = np.ascontiguousarray(block, dtype=np.float16)
            if data.ndim != 2 or data.shape[1] != dimension or at + len(data) > rows:
                raise ValueError(f"sentence vectors of shape {data.shape} after {at} of {rows} rows of {dimension}")
            f.write(data.data)
            at += len(data)
    return at


def blocks(matrix: np.ndarray) -> Iterator[np.ndarray]:
    for a in range(0, len(matrix), BLOCK):
        yield matrix[a:a + BLOCK]


def _write_tables(path: Path, articles: Iterable[Article]) -> tuple[int, int, int]:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode = OFF")  # a new file in a folder no one reads yet: nothing to roll back
        con.execute("PRAGMA synchronous = OFF")  # the store fsyncs the finished file
        con.executescript(_SCHEMA + lexical.SCHEMA)
        n_p = n_s = 0
        counts: list[int] = []
        terms: list[int] = []
        seen: set[str] = set()
        for doc, passages in articles:
            if doc.doc_id in seen:
                raise ValueError(f"document {doc.doc_id} twice in one segment")
            seen.add(doc.doc_id)
            con.execute("INSERT INTO catalog VALUES (?,?,?,?,?)",
                        (doc.doc_id, doc.path, doc.content_hash, n_p, len(passages)))
            con.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?)",
                        (doc.doc_id, doc.title, doc.date, doc.source, doc.dateline, doc.caption, doc.body_start,
                         doc.text))
            rows = []
            for p in passages:
                con.execute("INSERT INTO passages VALUES (?,?,?,?,?,?)",
                            (n_p, doc.doc_id, p.ordinal, p.start, p.end, p.text))
                con.executemany("INSERT INTO sentences VALUES (?,?,?,?,?)",
                                [(n_s + i, n_p, s.start, s.end, s.text) for i, s in enumerate(p.sentences)])
                words = lexical.passage_terms(p.text, doc.title)
                rows.append((n_p, words))
                counts.append(len(p.sentences))
                terms.append(len(words))
                n_p += 1
                n_s += len(p.sentences)
                if len(rows) >= BLOCK:  # a 30 MB article has 80k passages: their tokens are not held at once
                    lexical.write_rows(con, rows)
                    rows = []
            lexical.write_rows(con, rows)
        lexical.finish(con)
        con.executemany("INSERT INTO arrays VALUES (?, ?)",
                        [("sentence_count", np.asarray(counts, np.int32).tobytes()),
                         ("terms", np.asarray(terms, np.int32).tobytes())])
        con.commit()
    finally:
        con.close()
    return len(seen), n_p, n_s


class Segment:
    """An open segment. Its SQLite connection is shared by threads under ``lock``; everything
    else is read-only. Files stay readable while the segment is open, even after a writer
    collected them (open descriptors and the index's map keep them)."""

    def __init__(self, folder: Path, ref: SegmentRef, con: sqlite3.Connection, index: FaissIndex,
                 sentences: RowFile, doc_ids: list[str], doc_first: np.ndarray, doc_count: np.ndarray,
                 sentence_count: np.ndarray, terms: np.ndarray) -> None:
        self.folder = folder
        self.ref = ref
        self.con = con
        self.lock = threading.Lock()
        self.index = index
        self.sentences = sentences
        self.doc_ids = doc_ids
        self.doc_first = doc_first
        self.doc_count = doc_count
        self.sentence_count = sentence_count
        self.first_sentence = np.concatenate([[0], np.cumsum(sentence_count)]).astype(np.int64)
        self.terms = terms
        self.postings = lexical.SegmentPostings(self.rows)
        self.row_of_doc = {d: i for i, d in enumerate(doc_ids)}

    @classmethod
    def open(cls, folder: Path, ref: SegmentRef, dimension: int) -> Segment:
        """Open and check a segment; ``ValueError`` (or the library's error) says what is wrong."""
        if not folder.is_dir():
            raise ValueError(f"segment {ref.name} is missing")
        if sorted(ref.files) != sorted(FILES):
            raise ValueError(f"the manifest lists {', '.join(sorted(ref.files))}, not {', '.join(FILES)}")
        for name in FILES:
            problem = ref.files[name].problem(folder / name)
            if problem:
                raise ValueError(f"{ref.name}/{problem}")
        con = sqlite3.connect(f"file:{folder / 'passages.sqlite'}?mode=ro&immutable=1", uri=True,
                              check_same_thread=False)
        try:
            segment = cls._read(folder, ref, con, dimension)
        except BaseException:
            con.close()
            raise
        return segment

    @classmethod
    def _read(cls, folder: Path, ref: SegmentRef, con: sqlite3.Connection, dimension: int) -> Segment:
        docs = con.execute("SELECT doc_id, first_passage, passages FROM catalog ORDER BY first_passage").fetchall()
        arrays = dict(con.execute("SELECT name, data FROM arrays").fetchall())
        counts = np.frombuffer(arrays["sentence_count"], np.int32)
        terms = np.frombuffer(arrays["terms"], np.int32)
        doc_first = np.array([d[1] for d in docs], np.int64)
        doc_count = np.array([d[2] for d in docs], np.int64)
        ends = np.cumsum(doc_count)
        last_p, last_s = con.execute("SELECT (SELECT MAX(passage_id) FROM passages), "
                                     "(SELECT MAX(sentence_id) FROM sentences)").fetchone()
        if (len(docs) != ref.documents or len(counts) != ref.passages or len(terms) != ref.passages
                or int(counts.sum()) != ref.sentences or (last_p if last_p is not None else -1) != ref.passages - 1
                or (last_s if last_s is not None else -1) != ref.sentences - 1
                or (len(docs) and (int(ends[-1]) != ref.passages or not np.array_equal(doc_first, ends - doc_count)))):
            raise ValueError(f"segment {ref.name} holds other rows than its manifest entry says")
        if not ref.removed <= {d[0] for d in docs}:
            raise ValueError(f"segment {ref.name} lacks articles its manifest entry removes")
        index = FaissIndex.load(folder / "passages.faiss", mmap=True)
        index.check()
        if index.ef_search is not None:
            index.ef_search = EF_SEARCH
        if index.size != ref.passages or index.dimension != dimension:
            raise ValueError(f"{ref.name}/passages.faiss holds {index.size} vectors of {index.dimension} dimensions")
        sentences = RowFile(folder / "sentences.npy")
        if sentences.dtype != np.float16 or sentences.shape != (ref.sentences, dimension):
            sentences.close()
            raise ValueError(f"{ref.name}/sentences.npy holds {sentences.dtype} {sentences.shape}")
        return cls(folder, ref, con, index, sentences, [d[0] for d in docs], doc_first, doc_count, counts, terms)

    def close(self) -> None:
        with self.lock:
            self.con.close()
        self.sentences.close()

    # ------------------------------------------------------------ rows

    def rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """A query's rows. Opening checked the files' ends only (see ``FileCheck``), so SQLite may
        still meet a damaged page here: that is reported like damage found at load."""
        try:
            with self.lock:
                return self.con.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexError_(f"index segment {printable(self.folder)} is corrupt ({printable(exc)}); "
                              "run `rag ingest --rebuild`") from None

    def document(self, doc_id: str) -> Document:
        rows = self.rows(f"{_DOCUMENT} WHERE doc_id = ?", (doc_id,))
        if not rows:
            raise KeyError(doc_id)
        return document_from_row(rows[0])

    def records(self) -> list[DocRecord]:
        return [DocRecord(*r) for r in self.rows("SELECT doc_id, path, content_hash FROM catalog")]

    def passages(self, start: int, stop: int, first_id: int) -> list[Passage]:
        """Local passages ``start:stop`` with their sentences, numbered from ``first_id``."""
        if stop <= start:
            return []
        s0, s1 = int(self.first_sentence[start]), int(self.first_sentence[stop])
        rows = self.rows('SELECT doc_id, ordinal, start, "end", text FROM passages '
                         "WHERE passage_id >= ? AND passage_id < ? ORDER BY passage_id", (start, stop))
        sents = self.rows('SELECT start, "end", text FROM sentences '
                          "WHERE sentence_id >= ? AND sentence_id < ? ORDER BY sentence_id", (s0, s1))
        if len(rows) != stop - start or len(sents) != s1 - s0:
            raise IndexError_(f"index segment {printable(self.folder)} lacks passage or sentence rows; "
                              "run `rag ingest --rebuild`")
        out = []
        for i, (doc_id, ordinal, p_start, p_end, text) in enumerate(rows):
            a, b = int(self.first_sentence[start + i]) - s0, int(self.first_sentence[start + i + 1]) - s0
            sentences = tuple(Sentence(t, s, e) for s, e, t in sents[a:b])
            out.append(Passage(first_id + i, doc_id, ordinal, text, p_start, p_end, sentences))
        return out

    def articles(self, keep: Sequence[str]) -> Iterator[Article]:
        """The documents ``keep`` (in segment order) with their passages, for a merge."""
        for doc_id in keep:
            row = self.row_of_doc[doc_id]
            first, count = int(self.doc_first[row]), int(self.doc_count[row])
            yield self.document(doc_id), self.passages(first, first + count, 0)


def document_from_row(row: tuple[object, ...]) -> Document:
    """A ``Document`` from (doc_id, path, title, date, source, dateline, caption, body_start, content_hash, text)."""
    doc_id, path, title, date, source, dateline, caption, body_start, content_hash, text = row
    return Document(doc_id=doc_id, path=path, title=title, date=date, source=source,  # type: ignore[arg-type]
                    dateline=dateline, caption=caption, body_start=body_start,  # type: ignore[arg-type]
                    content_hash=content_hash, text=text)  # type: ignore[arg-type]
