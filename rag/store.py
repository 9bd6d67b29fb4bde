"""The on-disk index: generations of immutable segments, switched atomically, one writer at a time.

Layout of the index folder::

    CURRENT                      names the current generation (replaced by an atomic rename)
    LOCK                         the writers' lock
    gen-<time>/manifest.json     a generation: settings, counts, its segments, articles removed from them
    segments/seg-<time>/         segments (``rag.segment``), shared by the generations that list them

A write adds one segment with the new and changed articles and lists removed or replaced ones
against the segments that hold them, so adding or removing one article writes that article and
a manifest, not the index (at 20k synthetic articles: 186 KB and 0.18 s to add one, 1.7 KB and
0.2 s to remove one, where rewriting the index wrote 2 GB in 35 s). ``rag.compaction`` decides
when small segments merge. Nothing is changed once written: that one rule is what makes a crash
harmless and readers lock-free. One SQLite database updated in place would have made its
transaction the commit point, but then every reader must hold a read transaction for as long
as it answers from what it loaded (the app: for days), the vector files would still need
generations of their own, and FTS5's statistics would count rows a reader must not see.

Segments are written in temporary folders, fsynced and renamed into place before the new
generation is, and ``CURRENT`` moves last: a crash at any point leaves the previous generation
current and intact, and readers never see half an index. After the switch the writer removes
what no generation in use lists any more (old generations, merged segments, what dead writers
left), under the lock, so only writers' own leftovers go. Each segment file's size and checksums
are in the manifest; a load compares sizes and both ends of every file (see ``FileCheck`` for
why not all bytes), ``verify`` every byte. Damage is reported naming ``rag ingest --rebuild``
instead of answering from garbage.
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
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag import compaction, segment
from rag.errors import IndexBusyError, IndexError_, InputError, printable
from rag.manifest import FORMAT_VERSION, Manifest, SegmentRef, dump, read
from rag.segment import Batch, Segment
from rag.snapshot import Snapshot, assemble
from rag.types import Document

__all__ = ["CURRENT", "FORMAT_VERSION", "LOCK", "SEGMENTS", "Batch", "Manifest", "Snapshot", "Store",
           "library_versions"]

CURRENT = "CURRENT"
LOCK = "LOCK"
SEGMENTS = "segments"
TMP_PREFIX = ".tmp-gen-"
TMP_SEGMENT = ".tmp-seg-"
DEFAULT_LOCK_TIMEOUT = 600.0
LOCK_POLL_S = 0.05
LOAD_ATTEMPTS = 3
_GEN = re.compile(r"gen-\d{20}")


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
            name = None
            try:
                name = self._pointer()
                return _load_generation(self.root / name)
            except IndexError_:
                if attempt + 1 < LOAD_ATTEMPTS and self._pointer_moved(name):
                    continue
                raise
        raise AssertionError("unreachable")

    def _pointer_moved(self, name: str | None) -> bool:
        """Whether ``CURRENT`` now names another generation than ``name``; with no name (the pointer
        named a generation already gone when it was checked: a writer switched and collected it between
        the read and the check, 1 load in 100 under the reliability test's writers), always worth a retry."""
        if name is None:
            return True
        try:
            return (self.root / CURRENT).read_bytes().decode("ascii", "replace").strip() != name
        except OSError:
            return False

    def legacy_documents(self) -> dict[str, Document] | None:
        """The articles of an index in format 1 (before segments: one ``passages.sqlite`` per
        generation), so ``rag ingest --reembed`` can carry them over; None for any other index."""
        try:
            gen = self.current_dir()
            data = json.loads((gen / "manifest.json").read_text())
        except (IndexError_, OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != 1:
            return None
        try:
            con = sqlite3.connect(f"file:{gen / 'passages.sqlite'}?mode=ro", uri=True)
            try:
                rows = con.execute("SELECT doc_id, path, title, date, source, dateline, caption, body_start, "
                                   "content_hash, text FROM documents").fetchall()
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise IndexError_(f"index at {printable(gen)} is corrupt ({printable(exc)}); "
                              "run `rag ingest --rebuild`") from None
        return {row[0]: segment.document_from_row(row) for row in rows}

    def verify(self) -> int:
        """Compare every byte of every file of the current generation with its checksum (what a
        load skips, see ``FileCheck``); return the bytes checked, or raise ``IndexError_``."""
        gen = self.current_dir()
        _, refs = _read_manifest(gen)
        checked = 0
        for ref in refs:
            for name, check in sorted(ref.files.items()):
                problem = check.problem(self.root / SEGMENTS / ref.name / name, full=True)
                if problem:
                    raise IndexError_(f"index at {printable(gen)} is corrupt ({ref.name}/{printable(problem)}); "
                                      "run `rag ingest --rebuild`")
                checked += check.size
        return checked

    # ------------------------------------------------------------ writing

    def write(self, snapshot: Snapshot) -> Path:
        """Replace the index by everything ``snapshot`` holds, as one segment, under its manifest;
        return the generation."""
        docs = list(snapshot.documents)
        pids = np.array([i for d in docs for i in snapshot.documents.passage_range(d)], dtype=np.int64)
        sids = np.array([s for i in pids for s in snapshot.sentence_ids[int(i)]], dtype=np.int64)
        step = segment.BLOCK
        streams = (((snapshot.documents[d], snapshot.passages_of(d)) for d in docs),
                   (snapshot.passage_index.vectors(pids[a:a + step]) for a in range(0, len(pids), step)),
                   (snapshot.sentence_vectors[sids[a:a + step]] for a in range(0, len(sids), step)))
        with self.writer():
            return self._commit(snapshot.manifest, [], [streams] if docs else [])

    def write_streams(self, manifest: Manifest, streams: segment.Streams) -> Path:
        """Replace the index by one segment written from ``streams`` as they come (the articles, then
        the passage vectors, then the sentence vectors, in blocks), so nothing is held whole: the
        archive bench writes 100,000 synthetic articles so, without their 3.8 GB of float16 vectors
        in memory. ``manifest`` gives the embedder and chunking; counts and stamps are set here."""
        with self.writer():
            stamped = replace(manifest, created=time.time(), versions=library_versions())
            return self._commit(stamped, [], [streams])

    def commit(self, manifest: Manifest, batch: Batch, remove: Collection[str] = (), replace_all: bool = False
               ) -> Path:
        """Make a new generation current and return it: the current one (none with ``replace_all``)
        without the articles ``remove`` names and those ``batch`` brings anew, plus ``batch`` as a
        new segment, then merged as ``rag.compaction`` plans.

        ``manifest`` gives the embedder and chunking (its counts are recomputed); an update must
        keep the current ones. Takes the writer lock (or runs inside a ``writer()`` block).
        """
        with self.writer():
            base = None if replace_all or not self.exists() else self.load()
            if base is not None and not base.manifest.same_kind(manifest):
                raise ValueError("an update must keep the index's embedder and chunking; replace it instead")
            gone = set(remove) | {d.doc_id for d in batch.documents}
            kept = [(seg, seg.ref.without(gone & (set(seg.doc_ids) - seg.ref.removed)))
                    for seg in (base.segments if base is not None else ())]
            stamped = replace(manifest, created=time.time(), versions=library_versions())
            return self._commit(stamped, kept, [batch.streams()] if len(batch) else [])

    def _commit(self, manifest: Manifest, kept: list[tuple[Segment, SegmentRef]], new: list[segment.Streams]) -> Path:
        """Write the ``new`` segments, merge, publish the generation, then collect what it no longer lists."""
        written: list[str] = []
        opened: list[Segment] = []
        name = ""
        try:
            refs = [ref for _, ref in kept]
            segs = [seg for seg, _ in kept]
            for streams in new:
                ref = self._write_segment(manifest.dimension, streams)
                written.append(ref.name)
                seg = Segment.open(self.root / SEGMENTS / ref.name, ref, manifest.dimension)
                opened.append(seg)
                refs.append(ref)
                segs.append(seg)
            refs = self._compact(manifest.dimension, segs, refs, written, opened)
            documents, passages, sentences = _live_counts(segs, refs)
            final = replace(manifest, documents=documents, passages=passages, sentences=sentences)
            name = _unique(self.root, "gen")
            self._publish(final, tuple(refs), name)
        except BaseException:
            if not (name and self._is_current(name)):  # committed already: its segments are the index now
                for seg_name in written:
                    shutil.rmtree(self.root / SEGMENTS / seg_name, ignore_errors=True)
            raise
        finally:
            for seg in opened:
                seg.close()
        self._collect_garbage(keep=name)
        return self.root / name

    def _compact(self, dimension: int, segs: list[Segment], refs: list[SegmentRef], written: list[str],
                 opened: list[Segment]) -> list[SegmentRef]:
        """Rewrite segments as ``rag.compaction`` plans; segments with nothing live are left out."""
        by_name = {seg.ref.name: seg for seg in segs}
        sizes = [compaction.Size(_live_passages(by_name[r.name], r), r.passages) for r in refs]
        out = []
        for group in compaction.plan(sizes):
            members = [(by_name[refs[i].name], refs[i]) for i in group.members]
            if not group.rewrite:
                out.append(members[0][1])
                continue
            for seg, ref in members:  # a merge reads every byte anyway: make sure they are the written ones
                for name, check in ref.files.items():
                    problem = check.problem(seg.folder / name, full=True)
                    if problem:
                        raise IndexError_(f"index at {printable(self.root)} is corrupt ({ref.name}/"
                                          f"{printable(problem)}); run `rag ingest --rebuild`")
            ref = self._write_segment(dimension, _merged(members))
            written.append(ref.name)
            merged = Segment.open(self.root / SEGMENTS / ref.name, ref, dimension)
            opened.append(merged)
            segs.append(merged)
            by_name[ref.name] = merged
            out.append(ref)
        return out

    def _write_segment(self, dimension: int, streams: segment.Streams) -> SegmentRef:
        """Write a segment in a temporary folder, fsync it and rename it into ``segments/``."""
        segments = self.root / SEGMENTS
        segments.mkdir(exist_ok=True)
        tmp = segments / f"{TMP_SEGMENT}{os.getpid()}-{time.time_ns()}"
        try:
            ref = segment.write(tmp, streams, dimension)
            for f in tmp.iterdir():
                _fsync(f)
            _fsync(tmp)
            name = _unique(segments, "seg")
            os.replace(tmp, segments / name)
            _fsync(segments)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            with suppress(OSError):
                segments.rmdir()  # empty if this was the index's first write: leave no empty folder
            raise
        return replace(ref, name=name)

    def _publish(self, manifest: Manifest, refs: tuple[SegmentRef, ...], name: str) -> None:
        """Write the generation ``name`` and point ``CURRENT`` at it: the commit point. If this
        raises, ``CURRENT`` either still names the previous generation or already names this one
        (``_is_current`` tells), never anything else."""
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=self.root))
        try:
            (tmp / "manifest.json").write_text(dump(manifest, refs))
            _fsync(tmp / "manifest.json")
            _fsync(tmp)
            os.replace(tmp, self.root / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        pointer_tmp = self.root / (CURRENT + ".tmp")
        try:
            pointer_tmp.write_text(name + "\n")
            _fsync(pointer_tmp)
            current = self.root / CURRENT
            if current.is_dir() and not current.is_symlink():  # damaged: only a file can be replaced
                shutil.rmtree(current)
            os.replace(pointer_tmp, self.root / CURRENT)
            _fsync(self.root)
        except BaseException:
            if not self._is_current(name):
                shutil.rmtree(self.root / name, ignore_errors=True)
                pointer_tmp.unlink(missing_ok=True)
            raise

    def _is_current(self, name: str) -> bool:
        """Whether ``CURRENT`` names ``name`` on disk (what counts, whatever a write was doing when it failed)."""
        try:
            return (self.root / CURRENT).read_text().strip() == name
        except (OSError, UnicodeDecodeError):
            return False

    def tidy(self) -> None:
        """Remove what writers that died (``kill -9``, power loss) left behind: temporary folders,
        generations never or no longer current, segments no generation lists, a stray
        ``CURRENT.tmp``. Takes the writer lock; does nothing while ``CURRENT`` is missing or bad
        (``--rebuild`` is the way out then)."""
        with self.writer():
            try:
                name = self._pointer()
            except IndexError_:
                return
            _remove_others(self.root, name)

    def _collect_garbage(self, keep: str) -> None:
        _remove_others(self.root, keep)


def _unique(folder: Path, prefix: str) -> str:
    stamp = time.time_ns()
    while (folder / f"{prefix}-{stamp:020d}").exists():
        stamp += 1
    return f"{prefix}-{stamp:020d}"


def _remove_others(root: Path, keep: str) -> None:
    """Remove every generation but ``keep``, every temporary folder, and every segment ``keep``
    does not list (none, if its manifest cannot be read or is of another format: then nothing is
    known to be unused).

    Only called with the writer lock held, so no other writer is alive: every temporary folder
    is a dead writer's, every generation but ``keep`` (current) was superseded or never made
    current, and a segment ``keep`` does not list was merged away or never committed. A reader
    still opening one of those retries with the new ``CURRENT``; one that already loaded it keeps
    its open files.
    """
    for child in root.iterdir():
        if child.name == keep:
            continue
        if (_GEN.fullmatch(child.name) or child.name.startswith(TMP_PREFIX)) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name == CURRENT + ".tmp":
            child.unlink(missing_ok=True)
    segments = root / SEGMENTS
    if not segments.is_dir():
        return
    try:
        manifest, refs = read(root / keep / "manifest.json")
        listed = {ref.name for ref in refs} if manifest.format == FORMAT_VERSION else None
    except (OSError, ValueError, TypeError, KeyError):
        listed = None
    for child in segments.iterdir():
        if child.name.startswith(TMP_SEGMENT) or (listed is not None and child.name not in listed):
            shutil.rmtree(child, ignore_errors=True)


def _holder(fd: int) -> str:
    """`` (pid N)`` from the lock file, when the holder wrote it."""
    try:
        pid = os.pread(fd, 64, 0).split()[0].decode("ascii")
    except (OSError, IndexError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _read_manifest(gen: Path) -> tuple[Manifest, tuple[SegmentRef, ...]]:
    path = gen / "manifest.json"
    try:
        manifest, refs = read(path)
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise IndexError_(f"index manifest {printable(path)} is unreadable ({printable(exc)}); "
                          "run `rag ingest --rebuild`") from None
    if manifest.format != FORMAT_VERSION:
        raise IndexError_(f"index at {printable(gen.parent)} is in format {manifest.format}, this version reads "
                          f"{FORMAT_VERSION}; run `rag ingest --reembed` to carry its articles over (the embedding "
                          "cache spares most of the work) or `rag ingest --rebuild` to start over")
    return manifest, refs


def _load_generation(gen: Path) -> Snapshot:
    manifest, refs = _read_manifest(gen)
    opened: list[Segment] = []
    try:
        for ref in refs:
            opened.append(Segment.open(gen.parent / SEGMENTS / ref.name, ref, manifest.dimension))
        return assemble(manifest, opened)
    except Exception as exc:  # sqlite3, faiss (RuntimeError), numpy (ValueError), OS errors, odd headers
        for seg in opened:
            seg.close()
        raise IndexError_(f"index at {printable(gen)} is corrupt ({printable(exc)[:200]}); "
                          "run `rag ingest --rebuild`") from None


def _live_passages(seg: Segment, ref: SegmentRef) -> int:
    return int(ref.passages - sum(int(seg.doc_count[seg.row_of_doc[d]]) for d in ref.removed))


def _live_counts(segs: list[Segment], refs: list[SegmentRef]) -> tuple[int, int, int]:
    by_name = {seg.ref.name: seg for seg in segs}
    docs = passages = sentences = 0
    for ref in refs:
        seg = by_name[ref.name]
        rows = [seg.row_of_doc[d] for d in ref.removed]
        dead_p = sum(int(seg.doc_count[r]) for r in rows)
        dead_s = sum(int(seg.first_sentence[seg.doc_first[r] + seg.doc_count[r]] - seg.first_sentence[seg.doc_first[r]])
                     for r in rows)
        docs += ref.documents - len(ref.removed)
        passages += ref.passages - dead_p
        sentences += ref.sentences - dead_s
    return docs, passages, sentences


def _merged(members: list[tuple[Segment, SegmentRef]]) -> segment.Streams:
    """The live rows of ``members``, in order, as the three streams ``segment.write`` takes."""

    def live_docs(seg: Segment, ref: SegmentRef) -> list[str]:
        return [d for d in seg.doc_ids if d not in ref.removed]

    def articles() -> Iterator[segment.Article]:
        for seg, ref in members:
            yield from seg.articles(live_docs(seg, ref))

    def rows(seg: Segment, ref: SegmentRef, sentences: bool) -> np.ndarray:
        out = []
        for d in live_docs(seg, ref):
            r = seg.row_of_doc[d]
            a, b = int(seg.doc_first[r]), int(seg.doc_first[r] + seg.doc_count[r])
            out.append(np.arange(int(seg.first_sentence[a]), int(seg.first_sentence[b])) if sentences
                       else np.arange(a, b))
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def passage_blocks() -> Iterator[np.ndarray]:
        for seg, ref in members:
            ids = rows(seg, ref, False)
            for a in range(0, len(ids), segment.BLOCK):
                yield seg.index.vectors(ids[a:a + segment.BLOCK])

    def sentence_blocks() -> Iterator[np.ndarray]:
        for seg, ref in members:
            ids = rows(seg, ref, True)
            for a in range(0, len(ids), segment.BLOCK):
                yield seg.sentences.take(ids[a:a + segment.BLOCK])

    return articles(), passage_blocks(), sentence_blocks()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
