"""The on-disk index: passages in SQLite, vectors in FAISS, a manifest beside them.

Every write builds a complete new *generation* folder and then flips the
``CURRENT`` pointer with an atomic rename, so an interrupted ingest leaves the
previous index untouched and readers never see a half-written one. One writer
at a time holds the folder's ``LOCK`` (see ``Store``); the manifest records the
size and CRC-32 of every other file, checked on each load, so a damaged file is
reported (naming ``rag ingest --rebuild``) instead of answering from garbage.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.index import FaissIndex
from rag.errors import IndexBusyError, IndexError_, InputError, printable
from rag.types import Document, Passage, Sentence

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = "LOCK"
TMP_PREFIX = ".tmp-gen-"
DEFAULT_LOCK_TIMEOUT = 600.0
LOCK_POLL_S = 0.05
LOAD_ATTEMPTS = 3
_GEN = re.compile(r"gen-\d{20}")
_FILES = ("passages.sqlite", "passages.faiss", "sentences.npy")

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


def _print_wait(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _env_lock_timeout() -> float:
    raw = os.environ.get("RAG_LOCK_TIMEOUT", "")
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        return float(raw)
    except ValueError:
        raise InputError(f"setting lock_timeout: cannot read {raw!r} (seconds expected)") from None


class Store:
    """Reads and writes index generations under one folder.

    Writers take an exclusive ``flock`` on ``LOCK`` in the folder (released by the kernel when
    the process dies, even on ``kill -9``); a second writer waits up to ``lock_timeout`` seconds
    (``RAG_LOCK_TIMEOUT``, default 600), saying once that it waits, then fails with
    ``IndexBusyError``. A writer must read the index it updates while holding the lock
    (``Ingestor`` does), so concurrent ingests add up instead of overwriting each other.
    Readers take no lock: ``load`` reads ``CURRENT`` once and opens that generation, and
    retries if a writer replaced and collected it meanwhile.
    """

    def __init__(self, root: Path, lock_timeout: float | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.lock_timeout = _env_lock_timeout() if lock_timeout is None else lock_timeout
        self.on_wait = on_wait or _print_wait
        self._mutex = threading.RLock()
        self._lock_fd: int | None = None
        self._depth = 0

    # ------------------------------------------------------------ the writer lock

    def check_writable(self) -> None:
        """Create the index folder if needed and make sure this process can write into it;
        a clear ``IndexError_`` otherwise (before anything is parsed or embedded)."""
        fd = self._open_lock_file()
        os.close(fd)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise IndexError_(f"cannot write the index at {printable(self.root)}: permission denied")

    def _open_lock_file(self) -> int:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IndexError_(f"cannot create or write the index at {printable(self.root)}: "
                              f"{exc.strerror or exc}") from None

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the index's writer lock for the block (re-entrant within this ``Store``)."""
        with self._mutex:
            if self._depth == 0:
                self._lock_fd = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    fd, self._lock_fd = self._lock_fd, None
                    with suppress(OSError):
                        os.ftruncate(fd, 0)
                    os.close(fd)  # closing the last descriptor releases the flock

    def _acquire(self) -> int:
        fd = self._open_lock_file()
        deadline = time.monotonic() + max(0.0, self.lock_timeout)
        announced = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(fd)
                    if time.monotonic() >= deadline:
                        raise IndexBusyError(
                            f"another ingest{holder} is still writing the index at {printable(self.root)} after "
                            f"{self.lock_timeout:g}s; try again when it is done (RAG_LOCK_TIMEOUT sets the wait)"
                        ) from None
                    if not announced:
                        self.on_wait(f"waiting for another ingest{holder} to finish…")
                        announced = True
                    time.sleep(LOCK_POLL_S)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        return fd

    # ------------------------------------------------------------ reading

    def exists(self) -> bool:
        """Whether an index was committed here (``CURRENT`` is the commit point; a damaged one
        counts, so that loading it reports the damage instead of starting a new index)."""
        return os.path.lexists(self.root / CURRENT)

    def _pointer(self) -> str:
        """The generation ``CURRENT`` names, read once; a clear error when it is missing or bad."""
        pointer = self.root / CURRENT
        try:
            raw = pointer.read_bytes()
        except FileNotFoundError:
            if self.root.is_dir() and any(_GEN.fullmatch(c.name) for c in self.root.iterdir()):
                raise IndexError_(f"index at {printable(self.root)} has no CURRENT pointer; "
                                  "run `rag ingest --rebuild`") from None
            raise IndexError_(f"no index at {printable(self.root)}: run `rag ingest` first") from None
        except OSError as exc:
            raise IndexError_(f"index at {printable(self.root)} is corrupt (CURRENT: {exc.strerror or exc}); "
                              "run `rag ingest --rebuild`") from None
        name = raw.decode("ascii", "replace").strip()
        if not _GEN.fullmatch(name) or not (self.root / name).is_dir():
            raise IndexError_(f"index at {printable(self.root)} is corrupt (CURRENT names {printable(name[:60])!r}); "
                              "run `rag ingest --rebuild`")
        return name

    def current_dir(self) -> Path:
        return self.root / self._pointer()

    def read_manifest(self) -> Manifest:
        return _read_manifest(self.current_dir())[0]

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
        """The current generation. ``CURRENT`` is read once per attempt; if the generation turns out
        unreadable because a writer replaced and collected it meanwhile, the new one is read."""
        for attempt in range(LOAD_ATTEMPTS):
            name = self._pointer()
            try:
                return _load_generation(self.root / name)
            except IndexError_:
                if attempt + 1 < LOAD_ATTEMPTS and self._pointer_moved(name):
                    continue
                raise
        raise AssertionError("unreachable")

    def _pointer_moved(self, name: str) -> bool:
        try:
            return (self.root / CURRENT).read_bytes().decode("ascii", "replace").strip() != name
        except OSError:
            return False

    # ------------------------------------------------------------ writing

    def write(self, snapshot: Snapshot) -> Path:
        """Write a new generation and make it current atomically; return its folder.

        Takes the writer lock (or runs inside a ``writer()`` block of this store). The new
        generation is built in a temporary folder, fsynced, renamed into place, and only then
        named by ``CURRENT`` (itself replaced by an atomic rename), so a crash at any point leaves
        the previous generation current and intact.
        """
        with self.writer():
            tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=self.root))
            try:
                _write_tables(tmp / "passages.sqlite", snapshot)
                snapshot.passage_index.save(tmp / "passages.faiss")
                np.save(tmp / "sentences.npy", np.ascontiguousarray(snapshot.sentence_vectors, dtype=np.float32))
                data = snapshot.manifest.to_json()
                data["files"] = {f.name: _checksum(f) for f in sorted(tmp.iterdir())}
                (tmp / "manifest.json").write_text(json.dumps(data, indent=2))
                for f in tmp.iterdir():
                    _fsync(f)
                _fsync(tmp)
                name = self._new_name()
                os.replace(tmp, self.root / name)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            pointer_tmp = self.root / (CURRENT + ".tmp")
            committed = False
            try:
                pointer_tmp.write_text(name + "\n")
                _fsync(pointer_tmp)
                current = self.root / CURRENT
                if current.is_dir() and not current.is_symlink():  # damaged: only a file can be replaced
                    shutil.rmtree(current)
                os.replace(pointer_tmp, self.root / CURRENT)
                committed = True
                _fsync(self.root)
            except BaseException:
                if not committed:
                    shutil.rmtree(self.root / name, ignore_errors=True)
                    pointer_tmp.unlink(missing_ok=True)
                raise
            self._collect_garbage(keep=name)
        return self.root / name

    def _new_name(self) -> str:
        stamp = time.time_ns()
        while (self.root / f"gen-{stamp:020d}").exists():
            stamp += 1
        return f"gen-{stamp:020d}"

    def tidy(self) -> None:
        """Remove what writers that died (``kill -9``, power loss) left behind: temporary folders,
        generations never or no longer current, a stray ``CURRENT.tmp``. Takes the writer lock;
        does nothing while ``CURRENT`` is missing or bad (``--rebuild`` is the way out then)."""
        with self.writer():
            try:
                name = self._pointer()
            except IndexError_:
                return
            _remove_others(self.root, name)

    def _collect_garbage(self, keep: str) -> None:
        _remove_others(self.root, keep)


def _remove_others(root: Path, keep: str) -> None:
    """Remove every generation but ``keep`` and every temporary folder under ``root``.

    Only called with the writer lock held, so no other writer is alive: every temporary folder
    is a dead writer's, and every generation but ``keep`` (current) was superseded or never
    made current. A reader still opening one of those retries with the new ``CURRENT``; one that
    already loaded it keeps its open files.
    """
    for child in root.iterdir():
        if child.name == keep:
            continue
        if (_GEN.fullmatch(child.name) or child.name.startswith(TMP_PREFIX)) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name == CURRENT + ".tmp":
            child.unlink(missing_ok=True)


def _holder(fd: int) -> str:
    """`` (pid N)`` from the lock file, when the holder wrote it."""
    try:
        pid = os.pread(fd, 64, 0).split()[0].decode("ascii")
    except (OSError, IndexError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _checksum(path: Path) -> dict[str, int]:
    crc = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return {"size": path.stat().st_size, "crc32": crc}


def _read_manifest(gen: Path) -> tuple[Manifest, dict[str, object]]:
    path = gen / "manifest.json"
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("not an object")
        manifest = Manifest.from_json(data)
        _check_types(manifest)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise IndexError_(f"index manifest {printable(path)} is unreadable ({printable(exc)}); "
                          "run `rag ingest --rebuild`") from None
    files = data.get("files")
    return manifest, files if isinstance(files, dict) else {}


def _check_types(m: Manifest) -> None:
    for name, kind in (("embedder", str), ("dimension", int), ("chunk_chars", int), ("documents", int),
                       ("passages", int), ("sentences", int), ("created", (int, float)), ("versions", dict),
                       ("format", int), ("chunker", str)):
        if not isinstance(getattr(m, name), kind) or isinstance(getattr(m, name), bool):
            raise ValueError(f"field {name} is {getattr(m, name)!r}")


def _load_generation(gen: Path) -> Snapshot:
    manifest, files = _read_manifest(gen)
    where = printable(gen)
    try:
        if files and sorted(files) != sorted(_FILES):
            raise ValueError(f"the manifest lists {', '.join(map(printable, files))}, not {', '.join(_FILES)}")
        for name, expected in files.items():
            if _checksum(gen / name) != expected:
                raise ValueError(f"{name} does not match the size and checksum in the manifest")
        con = sqlite3.connect(f"file:{gen / 'passages.sqlite'}?mode=ro", uri=True)
        try:
            documents, passages, sentence_ids = _read_tables(con)
        finally:
            con.close()
        index = FaissIndex.load(gen / "passages.faiss")
        sent_vecs = np.load(gen / "sentences.npy", mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # sqlite3, faiss (RuntimeError), numpy (ValueError), OS errors, odd headers
        raise IndexError_(f"index at {where} is corrupt ({printable(exc)[:200]}); run `rag ingest --rebuild`") from None
    n_sentences = sum(map(len, sentence_ids))
    shape_ok = (sent_vecs.ndim == 2 and sent_vecs.dtype == np.float32
                and (sent_vecs.shape[1] == manifest.dimension or len(sent_vecs) == 0))
    counts = (manifest.documents, manifest.passages, manifest.sentences)
    if (index.size != len(passages) or len(sent_vecs) != n_sentences or not shape_ok
            or index.dimension != manifest.dimension or counts != (len(documents), len(passages), n_sentences)
            or any(p.doc_id not in documents for p in passages)):
        raise IndexError_(f"index at {where} is inconsistent (vectors, passages and manifest differ); "
                          "run `rag ingest --rebuild`")
    return Snapshot(manifest, documents, passages, sentence_ids, index, np.asarray(sent_vecs))


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
