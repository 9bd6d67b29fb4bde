"""The on-disk index: passages in SQLite, vectors in FAISS, a manifest beside them.

Every write builds a complete new *generation* folder and then flips the
``CURRENT`` pointer with an atomic rename, so an interrupted ingest leaves the
previous index untouched and readers never see a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.index import FaissIndex
from rag.errors import IndexError_
from rag.types import Document, Passage, Sentence

FORMAT_VERSION = 1
CURRENT = "CURRENT"

_SCHEMA = """
CREATE TABLE documents (doc_id TEXT PRIMARY KEY, path TEXT, title TEXT, date TEXT, source TEXT,
    dateline TEXT, caption TEXT, body_start INTEGER, content_hash TEXT, text TEXT);
CREATE TABLE passages (passage_id INTEGER PRIMARY KEY, doc_id TEXT, ordinal INTEGER,
    start INTEGER, "end" INTEGER, text TEXT);
CREATE TABLE sentences (sentence_id INTEGER PRIMARY KEY, passage_id INTEGER, start INTEGER,
    "end" INTEGER, text TEXT);
"""


@dataclass(frozen=True)
class Manifest:
    embedder: str
    dimension: int
    chunk_chars: int
    documents: int
    passages: int
    sentences: int
    created: float
    versions: dict[str, str]
    format: int = FORMAT_VERSION
    chunker: str = ""

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Manifest:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in fields})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Snapshot:
    """Everything one generation holds, in memory: what ingest writes and retrieval reads."""

    manifest: Manifest
    documents: dict[str, Document]
    passages: list[Passage]
    sentence_ids: list[tuple[int, ...]]
    passage_index: FaissIndex
    sentence_vectors: np.ndarray

    def passages_of(self, doc_id: str) -> list[Passage]:
        return [p for p in self.passages if p.doc_id == doc_id]


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("rag-news", "faiss-cpu", "sentence-transformers", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


class Store:
    """Reads and writes index generations under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self) -> bool:
        return (self.root / CURRENT).is_file()

    def current_dir(self) -> Path:
        pointer = self.root / CURRENT
        if not pointer.is_file():
            raise IndexError_(f"no index at {self.root}: run `rag ingest` first")
        name = pointer.read_text().strip()
        gen = self.root / name
        if not name.startswith("gen-") or not gen.is_dir():
            raise IndexError_(f"index at {self.root} is corrupt (CURRENT names {name!r}); run `rag ingest --rebuild`")
        return gen

    def read_manifest(self) -> Manifest:
        path = self.current_dir() / "manifest.json"
        try:
            return Manifest.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise IndexError_(f"index manifest {path} is unreadable ({exc}); run `rag ingest --rebuild`") from None

    def check_embedder(self, manifest: Manifest, embedder_id: str, dimension: int | None = None) -> None:
        if manifest.format != FORMAT_VERSION:
            raise IndexError_(f"index format {manifest.format} is not {FORMAT_VERSION}; run `rag ingest --rebuild`")
        if manifest.embedder != embedder_id or (dimension is not None and manifest.dimension != dimension):
            raise IndexError_(
                f"index at {self.root} was built with embedder {manifest.embedder} ({manifest.dimension}d), "
                f"not {embedder_id}; run `rag ingest --reembed` to embed its articles again (`--rebuild` starts over), "
                f"or use the matching model"
            )

    def load(self) -> Snapshot:
        gen = self.current_dir()
        manifest = self.read_manifest()
        try:
            con = sqlite3.connect(f"file:{gen / 'passages.sqlite'}?mode=ro", uri=True)
            try:
                documents, passages, sentence_ids = _read_tables(con)
            finally:
                con.close()
            index = FaissIndex.load(gen / "passages.faiss")
            sent_vecs = np.load(gen / "sentences.npy", mmap_mode="r")
        except (sqlite3.Error, OSError, RuntimeError, ValueError) as exc:
            raise IndexError_(f"index at {gen} is corrupt ({exc}); run `rag ingest --rebuild`") from None
        if index.size != len(passages) or len(sent_vecs) != sum(map(len, sentence_ids)):
            raise IndexError_(f"index at {gen} is inconsistent (vectors and passages differ); "
                              "run `rag ingest --rebuild`")
        return Snapshot(manifest, documents, passages, sentence_ids, index, np.asarray(sent_vecs))

    def write(self, snapshot: Snapshot) -> Path:
        """Write a new generation and make it current atomically; return its folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-gen-", dir=self.root))
        try:
            _write_tables(tmp / "passages.sqlite", snapshot)
            snapshot.passage_index.save(tmp / "passages.faiss")
            np.save(tmp / "sentences.npy", np.ascontiguousarray(snapshot.sentence_vectors, dtype=np.float32))
            (tmp / "manifest.json").write_text(json.dumps(snapshot.manifest.to_json(), indent=2))
            for f in tmp.iterdir():
                _fsync(f)
            name = f"gen-{time.time_ns():020d}"
            os.replace(tmp, self.root / name)
            pointer_tmp = self.root / (CURRENT + ".tmp")
            pointer_tmp.write_text(name + "\n")
            _fsync(pointer_tmp)
            os.replace(pointer_tmp, self.root / CURRENT)
            _fsync(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._collect_garbage(keep=name)
        return self.root / name

    def _collect_garbage(self, keep: str) -> None:
        for child in self.root.iterdir():
            ours = child.name.startswith(("gen-", ".tmp-gen-"))
            if child.is_dir() and child.name != keep and ours:
                shutil.rmtree(child, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tables(path: Path, snap: Snapshot) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(_SCHEMA)
        con.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(d.doc_id, d.path, d.title, d.date, d.source, d.dateline, d.caption, d.body_start, d.content_hash, d.text)
             for d in snap.documents.values()],
        )
        con.executemany(
            "INSERT INTO passages VALUES (?,?,?,?,?,?)",
            [(p.passage_id, p.doc_id, p.ordinal, p.start, p.end, p.text) for p in snap.passages],
        )
        con.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?)",
            [(sid, p.passage_id, s.start, s.end, s.text)
             for p, sids in zip(snap.passages, snap.sentence_ids, strict=True)
             for sid, s in zip(sids, p.sentences, strict=True)],
        )
        con.commit()
    finally:
        con.close()


def _read_tables(con: sqlite3.Connection) -> tuple[dict[str, Document], list[Passage], list[tuple[int, ...]]]:
    documents = {
        row[0]: Document(doc_id=row[0], path=row[1], title=row[2], date=row[3], source=row[4], dateline=row[5],
                         caption=row[6], body_start=row[7], content_hash=row[8], text=row[9])
        for row in con.execute("SELECT * FROM documents ORDER BY doc_id")
    }
    by_passage: dict[int, list[tuple[int, Sentence]]] = {}
    for sid, pid, start, end, text in con.execute("SELECT * FROM sentences ORDER BY sentence_id"):
        by_passage.setdefault(pid, []).append((sid, Sentence(text, start, end)))
    passages, sentence_ids = [], []
    for pid, doc_id, ordinal, start, end, text in con.execute("SELECT * FROM passages ORDER BY passage_id"):
        sents = by_passage.get(pid, [])
        passages.append(Passage(pid, doc_id, ordinal, text, start, end, tuple(s for _, s in sents)))
        sentence_ids.append(tuple(sid for sid, _ in sents))
    for i, p in enumerate(passages):
        if p.passage_id != i:
            raise ValueError("passage ids are not contiguous")
    return documents, passages, sentence_ids
