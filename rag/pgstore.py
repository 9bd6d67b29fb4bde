"""The index in PostgreSQL with pgvector, for several app or serve instances sharing one database.

Chosen by ``RAG_STORE_URL=postgresql://…`` (``rag.factory.build_store``); the embedded store
(``rag.store``) stays the default. The tables live in one schema (``rag`` unless told otherwise):

    generation   one row: the current generation's number and manifest
    documents    articles, passages, sentences: each document and passage row carries the
    passages     generation that wrote it (``born``) and the one that removed it (``dead``);
    sentences    passage vectors are ``halfvec`` with an HNSW index (inner product, as FAISS),
    postings     sentence vectors ``halfvec``; postings are (term, passage, count) for BM25

A write is one transaction: it inserts the new rows as generation g+1, marks removed and
replaced ones dead at g+1 and moves ``generation`` to g+1. Readers see generation g until that
commit and g+1 after it, never a mix, because a snapshot reads only rows live in the generation
it pinned. Writers are serialised by a session advisory lock held from reading the current
generation to committing the next (``writer()``; released by the server if the writer's
connection dies, as the embedded store's ``flock``). Rows are never updated except to mark them
dead; they are deleted once no pinned generation can see them: each open snapshot holds a shared
advisory lock on its generation, and the writer collects only what the oldest pin no longer needs.

Past one database machine, the same tables shard on Citus by document (passages, sentences and
postings carry the document row) or move to a managed PostgreSQL with pgvector; see the README.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import weakref
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from embeddings.index import EF_CONSTRUCTION, HNSW_M
from rag import lexical
from rag.errors import IndexBusyError, IndexError_, InputError
from rag.manifest import FORMAT_VERSION, Manifest
from rag.pgsnapshot import Listing, PgSnapshot, Reader, assemble, live
from rag.segment import Batch, DocRecord
from rag.store import library_versions
from rag.types import Document

DEFAULT_SCHEMA = "rag"
DEFAULT_LOCK_TIMEOUT = 600.0
LOCK_POLL_S = 0.05
LOAD_ATTEMPTS = 5
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_TABLES = """
CREATE TABLE IF NOT EXISTS generation (id int PRIMARY KEY CHECK (id = 1), current bigint NOT NULL,
    manifest jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS documents (row_id bigint PRIMARY KEY, doc_id text NOT NULL, born bigint NOT NULL,
    dead bigint, path text NOT NULL, title text NOT NULL, date text, source text, dateline text, caption text,
    body_start int NOT NULL, content_hash text NOT NULL, text text NOT NULL, first_pid bigint NOT NULL,
    passages int NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS documents_live ON documents (doc_id) WHERE dead IS NULL;
CREATE INDEX IF NOT EXISTS documents_dead ON documents (dead) WHERE dead IS NOT NULL;
CREATE TABLE IF NOT EXISTS passages (pid bigint PRIMARY KEY, doc_row bigint NOT NULL, doc_id text NOT NULL,
    ordinal int NOT NULL, start int NOT NULL, "end" int NOT NULL, text text NOT NULL, born bigint NOT NULL,
    dead bigint, first_sid bigint NOT NULL, sentences int NOT NULL, terms int NOT NULL, dim int NOT NULL,
    embedding halfvec NOT NULL);
CREATE INDEX IF NOT EXISTS passages_doc ON passages (doc_row);
CREATE INDEX IF NOT EXISTS passages_dead ON passages (dead) WHERE dead IS NOT NULL;
CREATE TABLE IF NOT EXISTS sentences (sid bigint PRIMARY KEY, pid bigint NOT NULL, start int NOT NULL,
    "end" int NOT NULL, text text NOT NULL, embedding halfvec NOT NULL);
CREATE INDEX IF NOT EXISTS sentences_pid ON sentences (pid);
CREATE TABLE IF NOT EXISTS postings (term text NOT NULL, pid bigint NOT NULL, tf real NOT NULL,
    PRIMARY KEY (pid, term));
CREATE INDEX IF NOT EXISTS postings_term ON postings (term) INCLUDE (pid, tf);
"""


def _key(kind: str, schema: str) -> int:
    """An advisory lock class (int4, positive) for ``kind`` of locks on ``schema``."""
    return zlib.crc32(f"rag-news:{kind}:{schema}".encode()) & 0x7FFFFFFF


def _env_lock_timeout() -> float:
    raw = os.environ.get("RAG_LOCK_TIMEOUT", "")
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        raise InputError(f"setting lock_timeout: cannot read {raw!r} (seconds expected)") from None


def _print_wait(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class PgStore:
    """Reads and writes index generations in one schema of a PostgreSQL database (``rag.backend.IndexStore``).

    Nothing connects until asked: ``load`` opens a connection per snapshot (it holds the pin),
    ``writer`` one for the writer lock and the write. ``connect`` is injectable for tests.
    """

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA, lock_timeout: float | None = None,
                 on_wait: Callable[[str], None] | None = None,
                 connect: Callable[[str], Any] | None = None) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise InputError(f"schema {schema!r}: lowercase letters, digits and _ only")
        self.url = url
        self.schema = schema
        self.lock_timeout = _env_lock_timeout() if lock_timeout is None else lock_timeout
        self.on_wait = on_wait or _print_wait
        self._connect = connect or _psycopg_connect
        self._mutex = threading.RLock()
        self._writer: Any = None
        self._depth = 0
        self._writer_key = _key("writer", schema)
        self._pin_key = _key("pin", schema)

    def describe(self) -> str:
        """The database and schema, without the password."""
        return f"{re.sub(r'://[^@/]*@', '://', self.url)} (schema {self.schema})"

    # ------------------------------------------------------------ connections and schema

    def _open(self) -> Any:
        """A connection in autocommit mode, on this store's schema, with ``halfvec`` adapters."""
        from rag.pgtypes import register

        try:
            con = self._connect(self.url)
        except Exception as exc:  # psycopg.OperationalError: bad URL, server down, authentication
            raise IndexError_(f"cannot connect to the index database {self.describe()}: "
                              f"{str(exc).strip()[:300]}") from None
        try:
            con.autocommit = True
            con.execute(f"SET search_path TO {self.schema}, public")
            try:
                register(con)
            except LookupError:
                try:
                    con.execute("CREATE EXTENSION IF NOT EXISTS vector")
                except Exception:
                    raise IndexError_(f"the database {self.describe()} lacks pgvector: run `CREATE EXTENSION "
                                      "vector` in it as a superuser") from None
                register(con)
        except BaseException:
            con.close()
            raise
        return con

    def _ensure_tables(self, con: Any) -> None:
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_key("schema", self.schema),))
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            con.execute(_TABLES)

    def check_writable(self) -> None:
        """Connect, and create the schema and tables if needed (before anything is parsed or embedded)."""
        con = self._open()
        try:
            self._ensure_tables(con)
        finally:
            con.close()

    # ------------------------------------------------------------ the writer lock

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the schema's writer lock for the block (re-entrant within this ``PgStore``)."""
        with self._mutex:
            if self._depth == 0:
                self._writer = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._writer is not None:
                    con, self._writer = self._writer, None
                    con.close()  # ending the session releases the advisory lock

    def _acquire(self) -> Any:
        con = self._open()
        try:
            self._ensure_tables(con)
            deadline = time.monotonic() + max(0.0, self.lock_timeout)
            announced = False
            while not con.execute("SELECT pg_try_advisory_lock(%s, 0)", (self._writer_key,)).fetchone()[0]:
                holder = self._holder(con)
                if time.monotonic() >= deadline:
                    raise IndexBusyError(f"another ingest{holder} is still writing the index at {self.describe()} "
                                         f"after {self.lock_timeout:g}s; try again when it is done "
                                         "(RAG_LOCK_TIMEOUT sets the wait)")
                if not announced:
                    self.on_wait(f"waiting for another ingest{holder} to finish…")
                    announced = True
                time.sleep(LOCK_POLL_S)
        except BaseException:
            con.close()
            raise
        return con

    def _holder(self, con: Any) -> str:
        row = con.execute("SELECT a.client_addr, l.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                          "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objsubid = 2",
                          (self._writer_key,)).fetchone()
        return f" (server pid {row[1]})" if row else ""

    # ------------------------------------------------------------ reading

    def exists(self) -> bool:
        con = self._open()
        try:
            if con.execute("SELECT to_regclass('generation')").fetchone()[0] is None:
                return False
            return con.execute("SELECT 1 FROM generation WHERE id = 1").fetchone() is not None
        finally:
            con.close()

    def read_manifest(self) -> Manifest:
        con = self._open()
        try:
            return self._current(con)[1]
        finally:
            con.close()

    def _current(self, con: Any) -> tuple[int, Manifest]:
        row = (con.execute("SELECT current, manifest FROM generation WHERE id = 1").fetchone()
               if con.execute("SELECT to_regclass('generation')").fetchone()[0] is not None else None)
        if row is None:
            raise IndexError_(f"no index at {self.describe()}: run `rag ingest` first")
        data = row[1] if isinstance(row[1], dict) else json.loads(row[1])
        return int(row[0]), Manifest.from_json(data)

    def check_embedder(self, manifest: Manifest, embedder_id: str, dimension: int | None = None) -> None:
        if manifest.format != FORMAT_VERSION:
            raise IndexError_(f"index format {manifest.format} is not {FORMAT_VERSION}; run `rag ingest --rebuild`")
        if manifest.embedder != embedder_id or (dimension is not None and manifest.dimension != dimension):
            raise IndexError_(
                f"index at {self.describe()} was built with embedder {manifest.embedder} ({manifest.dimension}d), "
                f"not {embedder_id}; run `rag ingest --reembed` to embed its articles again (`--rebuild` starts "
                "over), or use the matching model")

    def load(self) -> PgSnapshot:
        """The current generation, pinned for as long as the snapshot lives (or until ``close``)."""
        con = self._open()
        try:
            snapshot = self._load(con)
        except BaseException:
            con.close()
            raise
        weakref.finalize(snapshot, con.close)
        return snapshot

    def _load(self, con: Any) -> PgSnapshot:
        from psycopg import IsolationLevel

        con.isolation_level = IsolationLevel.REPEATABLE_READ
        for _ in range(LOAD_ATTEMPTS):
            g, _manifest = self._current(con)
            con.execute("SELECT pg_advisory_lock_shared(%s, %s)", (self._pin_key, g))
            with con.transaction():
                g_now, manifest = self._current(con)
                if g_now == g:
                    listing = self._listing(con, g)
                    break
            con.execute("SELECT pg_advisory_unlock_shared(%s, %s)", (self._pin_key, g))
        else:
            raise IndexBusyError(f"the index at {self.describe()} changed {LOAD_ATTEMPTS} times while loading; "
                                 "try again")
        if (manifest.documents, manifest.passages, manifest.sentences) != (
                len(listing.documents), len(listing.pids), int(listing.sentence_count.sum())):
            raise IndexError_(f"index at {self.describe()} is corrupt (generation {g} lists other rows than its "
                              "manifest counts); run `rag ingest --rebuild`")
        return assemble(manifest, listing, Reader(con))

    def _listing(self, con: Any, g: int) -> Listing:
        rows = con.execute(f"SELECT pid, first_sid, sentences, terms FROM passages WHERE {live()} ORDER BY pid",
                           (g, g), binary=True).fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        docs = con.execute(f"SELECT doc_id, row_id, first_pid, passages, path, content_hash FROM documents "
                           f"WHERE {live()}", (g, g)).fetchall()
        return Listing(g, arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), arr[:, 3].copy(),
                       {d[0]: (int(d[1]), int(d[2]), int(d[3])) for d in docs},
                       {d[0]: DocRecord(d[0], d[4], d[5]) for d in docs})

    def legacy_documents(self) -> dict[str, Document] | None:
        """None: the database never held the index format before segments."""
        return None

    def verify(self) -> int:
        """Check that the current generation's rows agree with its manifest and with each other
        (every passage's sentences and vector present); return the rows checked."""
        snap = self.load()
        try:
            g = snap.generation
            con = snap.reader
            (sentences,) = con.rows(f"SELECT count(*) FROM sentences s JOIN passages p USING (pid) WHERE {live('p')}",
                                    (g, g))[0]
            (bad,) = con.rows(f"SELECT count(*) FROM passages WHERE {live()} AND dim <> %s", (g, g,
                                                                                            snap.manifest.dimension))[0]
            if sentences != len(snap.sentence_vectors) or bad:
                raise IndexError_(f"index at {self.describe()} is corrupt (generation {g}: {sentences} sentences "
                                  f"for {len(snap.sentence_vectors)}, {bad} vectors of another size); "
                                  "run `rag ingest --rebuild`")
            return len(snap.documents) + len(snap.passages) + int(sentences)
        finally:
            snap.close()

    # ------------------------------------------------------------ writing

    def commit(self, manifest: Manifest, batch: Batch, remove: Collection[str] = (), replace_all: bool = False
               ) -> int:
        """Make a new generation current in one transaction and return its number: the current one
        (none with ``replace_all``) without the articles ``remove`` names and those ``batch`` brings
        anew, plus ``batch``. Takes the writer lock (or runs inside a ``writer()`` block)."""
        with self.writer():
            con = self._writer
            with con.transaction():
                row = con.execute("SELECT current, manifest FROM generation WHERE id = 1 FOR UPDATE").fetchone()
                current = int(row[0]) if row else 0
                base = Manifest.from_json(row[1]) if row and not replace_all else None
                if base is not None and not base.same_kind(manifest):
                    raise ValueError("an update must keep the index's embedder and chunking; replace it instead")
                new = current + 1
                gone = None if replace_all else sorted(set(remove) | {d.doc_id for d in batch.documents})
                killed_d, killed_p, killed_s = self._kill(con, new, gone)
                added_p, added_s = self._insert(con, new, manifest.dimension, batch)
                counts = (0, 0, 0) if base is None else (base.documents, base.passages, base.sentences)
                final = replace(manifest, created=time.time(), versions=library_versions(),
                                documents=counts[0] - killed_d + len(batch), passages=counts[1] - killed_p + added_p,
                                sentences=counts[2] - killed_s + added_s)
                con.execute("INSERT INTO generation VALUES (1, %s, %s) ON CONFLICT (id) DO UPDATE "
                            "SET current = excluded.current, manifest = excluded.manifest",
                            (new, json.dumps(final.to_json())))
            self._collect(con, new)
        return new

    def _kill(self, con: Any, new: int, doc_ids: list[str] | None) -> tuple[int, int, int]:
        """Mark the live rows of ``doc_ids`` (all, for None) dead at ``new``; return what died."""
        if doc_ids is None:
            rows = con.execute("UPDATE documents SET dead = %s WHERE dead IS NULL RETURNING row_id", (new,)).fetchall()
        elif doc_ids:
            rows = con.execute("UPDATE documents SET dead = %s WHERE dead IS NULL AND doc_id = ANY(%s) "
                               "RETURNING row_id", (new, doc_ids)).fetchall()
        else:
            return 0, 0, 0
        if not rows:
            return 0, 0, 0
        p, s = con.execute("WITH d AS (UPDATE passages SET dead = %s WHERE dead IS NULL AND doc_row = ANY(%s) "
                           "RETURNING sentences) SELECT count(*), coalesce(sum(sentences), 0) FROM d",
                           (new, [r[0] for r in rows])).fetchone()
        return len(rows), int(p), int(s)

    def _insert(self, con: Any, new: int, dimension: int, batch: Batch) -> tuple[int, int]:
        """Copy ``batch`` in as generation ``new`` (binary COPY); return the passages and sentences written."""
        doc_row, pid, sid = con.execute("SELECT (SELECT coalesce(max(row_id), -1) + 1 FROM documents), "
                                        "(SELECT coalesce(max(pid), -1) + 1 FROM passages), "
                                        "(SELECT coalesce(max(sid), -1) + 1 FROM sentences)").fetchone()
        p_vecs = np.asarray(batch.passage_vectors)
        s_vecs = np.asarray(batch.sentence_vectors)
        if p_vecs.shape[1:] != (dimension,) or s_vecs.shape[1:] != (dimension,):
            raise ValueError(f"vectors of shape {p_vecs.shape} and {s_vecs.shape}, not {dimension} wide")
        docs: list[tuple[Any, ...]] = []
        passages: list[tuple[Any, ...]] = []
        sentences: list[tuple[Any, ...]] = []
        postings: list[tuple[Any, ...]] = []
        p_at = s_at = 0
        for doc, chunks in zip(batch.documents, batch.passages, strict=True):
            docs.append((doc_row, doc.doc_id, new, doc.path, doc.title, doc.date, doc.source, doc.dateline,
                         doc.caption, doc.body_start, doc.content_hash, doc.text, pid, len(chunks)))
            for p in chunks:
                words = lexical.passage_terms(p.text, doc.title)
                if p_at >= len(p_vecs):
                    raise ValueError(f"fewer passage vectors ({len(p_vecs)}) than passages")
                passages.append((pid, doc_row, doc.doc_id, p.ordinal, p.start, p.end, p.text, new, sid,
                                 len(p.sentences), len(words), dimension, p_vecs[p_at]))
                postings.extend((t, pid, float(n)) for t, n in Counter(words).items())
                for s in p.sentences:
                    if s_at >= len(s_vecs):
                        raise ValueError(f"fewer sentence vectors ({len(s_vecs)}) than sentences")
                    sentences.append((sid, pid, s.start, s.end, s.text, s_vecs[s_at]))
                    sid += 1
                    s_at += 1
                pid += 1
                p_at += 1
            doc_row += 1
        if p_at != len(p_vecs) or s_at != len(s_vecs):
            raise ValueError(f"{len(p_vecs)} passage and {len(s_vecs)} sentence vectors for {p_at} passages and "
                             f"{s_at} sentences")
        _copy(con, "documents (row_id, doc_id, born, path, title, date, source, dateline, caption, body_start, "
              "content_hash, text, first_pid, passages)",
              ["int8", "text", "int8", "text", "text", "text", "text", "text", "text", "int4", "text", "text", "int8",
               "int4"], docs)
        _copy(con, 'passages (pid, doc_row, doc_id, ordinal, start, "end", text, born, first_sid, sentences, terms, '
              "dim, embedding)",
              ["int8", "int8", "text", "int4", "int4", "int4", "text", "int8", "int8", "int4", "int4", "int4",
               "halfvec"], passages)
        _copy(con, 'sentences (sid, pid, start, "end", text, embedding)',
              ["int8", "int8", "int4", "int4", "text", "halfvec"], sentences)
        _copy(con, "postings (term, pid, tf)", ["text", "int8", "float4"], postings)
        con.execute(f"CREATE INDEX IF NOT EXISTS passages_hnsw_{dimension} ON passages USING hnsw "
                    f"((embedding::halfvec({dimension})) halfvec_ip_ops) "
                    f"WITH (m = {HNSW_M}, ef_construction = {EF_CONSTRUCTION}) WHERE dim = {dimension}")
        return p_at, s_at

    # ------------------------------------------------------------ collecting dead rows

    def tidy(self) -> None:
        """Delete the rows no pinned generation can see any more (what ``commit`` does after switching)."""
        with self.writer():
            con = self._writer
            if con.execute("SELECT to_regclass('generation')").fetchone()[0] is None:
                return
            row = con.execute("SELECT current FROM generation WHERE id = 1").fetchone()
            if row is not None:
                self._collect(con, int(row[0]))

    def pinned(self, con: Any) -> list[int]:
        """The generations open snapshots (of any process) hold."""
        rows = con.execute("SELECT DISTINCT objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
                           "AND classid = %s AND objsubid = 2 AND granted "
                           "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                           (self._pin_key,)).fetchall()
        return sorted(int(r[0]) for r in rows)

    def _collect(self, con: Any, current: int) -> None:
        """Delete rows that died at or before the oldest generation still pinned (or the current one).

        Runs after the switch, so a reader pinning later sees the new generation and retries:
        no pin can appear on a generation older than ``current`` once this has read the pins."""
        floor = min([current, *self.pinned(con)])
        with con.transaction():
            dead = "SELECT pid FROM passages WHERE dead IS NOT NULL AND dead <= %s"
            con.execute(f"DELETE FROM postings WHERE pid IN ({dead})", (floor,))
            con.execute(f"DELETE FROM sentences WHERE pid IN ({dead})", (floor,))
            con.execute("DELETE FROM passages WHERE dead IS NOT NULL AND dead <= %s", (floor,))
            con.execute("DELETE FROM documents WHERE dead IS NOT NULL AND dead <= %s", (floor,))


def _copy(con: Any, target: str, types: list[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with con.cursor().copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url)
