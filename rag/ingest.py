"""Turn folders of articles into an index, incrementally.

A document whose content hash and chunk settings are unchanged keeps its
passages and vectors; only new or changed files are embedded, and files that
disappeared from an ingested folder are dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import mmap
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.embedder import Embedder
from embeddings.index import FaissIndex
from rag.chunk import CHUNKER_VERSION, chunk_document
from rag.embed_cache import EmbeddingCache
from rag.errors import InputError, ModelError, RagError, printable, safe_name
from rag.parse import iter_files, parse_file
from rag.store import Manifest, Snapshot, Store, library_versions
from rag.types import Document, Passage

Progress = Callable[[int, int], None]
Notify = Callable[[str], None]

# Cached vectors are fetched and previous vectors copied in blocks of this many rows,
# so no temporary ever holds all of them at once.
_BLOCK = 2048
EMBED_BATCH = 32
"""Texts per call of the embedder; its vectors go straight to their rows, then the batch is dropped."""
EMBED_MAX_CHARS = 32_000
"""The embedder sees at most this much of a text. Its model reads 2,048 tokens (about 9,000 characters
of German), so the vector is the same; a 30 MB text without a sentence boundary (one passage) would
otherwise be tokenized whole before being truncated."""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)
    passages_embedded: int = 0
    sentences_embedded: int = 0
    cached: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged",
                 f"{len(self.removed)} removed"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (not articles)")
        rate = self.passages_embedded / self.seconds if self.seconds and self.passages_embedded else 0.0
        reused = f", {self.cached} texts from the embedding cache" if self.cached else ""
        return (f"ingest: {', '.join(parts)}; embedded {self.passages_embedded} passages and "
                f"{self.sentences_embedded} sentences in {self.seconds:.1f}s ({rate:.1f} passages/s{reused})")

    def problems(self) -> list[str]:
        """One terminal-safe line per file not indexed and per id collision, for printing."""
        lines = [f"skipped {safe_name(path)}: {printable(why)}" for path, why in self.skipped]
        lines += [f"skipped {safe_name(path)}: {printable(why)}" for path, why in self.failed]
        lines += [printable(c) for c in self.collisions]
        return lines


class Ingestor:
    """Updates one index; every run holds the index's writer lock from reading the current
    generation to writing the next, so concurrent runs queue up and none loses another's work.

    ``notify`` receives one line per skipped or failed file and per id collision as soon as it
    is known (before anything is embedded); the same lines are in the report.

    Progress, each ``(done, total)`` and only when there is work: ``read_progress`` in bytes of
    the files read, ``chunk_progress`` in characters of the new texts split into passages (also
    inside one long text, about every ``rag.chunk.PROGRESS_STEP`` characters), ``progress`` in
    distinct texts embedded (cached ones count as done from the start).
    """

    def __init__(self, store: Store, embedder: Embedder, chunk_chars: int = 500,
                 progress: Progress | None = None, cache: EmbeddingCache | None = None,
                 notify: Notify | None = None, read_progress: Progress | None = None,
                 chunk_progress: Progress | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.chunk_chars = chunk_chars
        self.progress = progress
        self.cache = cache
        self.notify = notify
        self.read_progress = read_progress
        self.chunk_progress = chunk_progress

    def _same_chunks(self, previous: Snapshot | None) -> bool:
        """Old passages are reusable only if the same chunker with the same size made them, and the same embedder."""
        return (previous is not None and previous.manifest.chunk_chars == self.chunk_chars
                and previous.manifest.chunker == CHUNKER_VERSION
                and previous.manifest.embedder == self.embedder.model_id)

    def _previous(self, rebuild: bool, reembed: bool = False) -> Snapshot | None:
        """The index to update; one built by another embedder is refused unless ``reembed`` asks to
        keep its articles and embed them all again. Called with the writer lock held."""
        if rebuild or not self.store.exists():
            return None
        snap = self.store.load()
        if not reembed:
            self.store.check_embedder(snap.manifest, self.embedder.model_id)
        return snap

    def _say(self, line: str) -> None:
        if self.notify is not None:
            self.notify(line)

    def ingest_documents(self, docs: list[Document]) -> IngestReport:
        """Make the index hold exactly ``docs`` (already parsed), embedding only what changed."""
        started = time.perf_counter()
        report = IngestReport()
        with self.store.writer():
            self.store.tidy()
            previous = self._previous(rebuild=False)
            old = previous.documents if previous else {}
            same_chunks = self._same_chunks(previous)
            report.removed = [d for d in old if d not in {x.doc_id for x in docs}]
            for doc in docs:
                _sort_into(report, doc, old.get(doc.doc_id), same_chunks)
            prior, previous = _Prior.of(previous), None  # _build lets go of its parts once copied
            snapshot = self._build({d.doc_id: d for d in docs}, set(report.unchanged), prior, report)
            return self._write(snapshot, report, started, force=not same_chunks)

    def ingest(self, paths: list[Path], rebuild: bool = False, remove: list[str] | None = None,
               reembed: bool = False) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        remove_ids = set(remove or [])
        files = iter_files(paths, report.skipped)
        if not files and not remove:
            extra = ""
            if report.skipped:
                first = "; ".join(f"{safe_name(p)} ({printable(w)})" for p, w in report.skipped[:3])
                extra = f"; skipped {len(report.skipped)} other file(s): {first}"
            raise InputError(f"no .txt, .md or .html files in {', '.join(safe_name(p) for p in paths)}{extra}")
        for path, why in report.skipped:
            self._say(f"skipped {safe_name(path)}: {printable(why)}")
        with self.store.writer():  # also checks that the index folder can be written, before any work
            self.store.tidy()
            previous = self._previous(rebuild, reembed)
            parsed = self._parse(files, report)
            old_docs = previous.documents if previous else {}
            same_chunks = self._same_chunks(previous)
            roots = [r for r in map(_resolve, paths) if r is not None]
            failed_paths = {_resolve(p) for p, _ in report.failed}
            new_docs, keep = _assign_ids(parsed, old_docs, roots, failed_paths, remove_ids, report)
            for line in report.collisions:
                self._say(printable(line))
            for doc_id, doc in new_docs.items():
                _sort_into(report, doc, old_docs.get(doc_id), same_chunks)
                keep[doc_id] = doc
            reuse = set(report.unchanged) | (set(keep) - set(new_docs) if same_chunks else set())
            fresh = previous is None
            prior, previous = _Prior.of(previous), None  # _build lets go of its parts once copied
            snapshot = self._build(keep, reuse, prior, report)
            return self._write(snapshot, report, started, force=fresh or not same_chunks)

    def _parse(self, files: list[Path], report: IngestReport) -> list[tuple[Path, Document]]:
        """Each readable article with its resolved path; the others go to ``report.failed``."""
        out: list[tuple[Path, Document]] = []
        sizes = [_size(f) for f in files] if self.read_progress else []
        total, done = sum(sizes), 0
        if self.read_progress and total:
            self.read_progress(0, total)
        for i, f in enumerate(files):
            if self.read_progress and total and i:
                done += sizes[i - 1]
                self.read_progress(done, total)
            why = None
            if not _utf8(str(f)):
                why = "the file name is not valid UTF-8; rename the file to index it"
            else:
                try:
                    doc = parse_file(f)
                except RagError as exc:
                    why = str(exc)
            if why is not None:
                report.failed.append((str(f), why))
                self._say(f"skipped {safe_name(f)}: {printable(why)}")
                continue
            resolved = _resolve(f) or f.absolute()
            out.append((resolved, dataclasses.replace(doc, path=str(f.absolute()))))
        if self.read_progress and total:
            self.read_progress(total, total)
        return out

    def _write(self, snapshot: Snapshot, report: IngestReport, started: float, force: bool) -> IngestReport:
        """Write a new generation only when something changed (or ``force``)."""
        if force or report.added or report.updated or report.removed:
            self.store.write(snapshot)
        report.seconds = time.perf_counter() - started
        return report

    def _build(self, docs: dict[str, Document], reuse: set[str], prior: _Prior | None,
               report: IngestReport) -> Snapshot:
        """The new snapshot, built so that every vector is held about once.

        Passages first: reused vectors are copied from the previous generation (whose index is
        then freed), new ones embedded batch by batch straight into their rows of a preallocated
        float32 matrix, which FAISS copies once and which is then dropped. Sentences next, into the
        matrix that is written to disk: reused rows copied from the previous generation (its
        memory-mapped pages released as they are copied), a sentence whose text is also a new
        passage takes that passage's vector from the new index, the others are embedded.
        """
        passages: list[Passage] = []
        sentence_ids: list[tuple[int, ...]] = []
        copy_p: list[int] = []  # new passage id -> old passage id, for reused documents
        copy_p_old: list[int] = []
        copy_s: list[int] = []
        copy_s_old: list[int] = []
        new_p: list[int] = []
        new_s: list[int] = []
        old_by_doc: dict[str, list[Passage]] = {}
        if prior is not None and reuse:
            for p in prior.passages:
                if p.doc_id in reuse:
                    old_by_doc.setdefault(p.doc_id, []).append(p)
        chunk_total = sum(len(d.text) for i, d in docs.items() if prior is None or i not in reuse)
        chunked = 0
        if self.chunk_progress and chunk_total:
            self.chunk_progress(0, chunk_total)
        n_s = 0
        for doc_id in sorted(docs):
            doc = docs[doc_id]
            if prior is not None and doc_id in reuse:
                for p in old_by_doc.get(doc_id, []):
                    copy_p.append(len(passages))
                    copy_p_old.append(p.passage_id)
                    old_sids = prior.sentence_ids[p.passage_id]
                    copy_s.extend(range(n_s, n_s + len(old_sids)))
                    copy_s_old.extend(old_sids)
                    _append(passages, sentence_ids, p, n_s)
                    n_s += len(p.sentences)
            else:
                for p in chunk_document(doc, self.chunk_chars, progress=self._chunk_tick(chunked, chunk_total)):
                    new_p.append(len(passages))
                    new_s.extend(range(n_s, n_s + len(p.sentences)))
                    _append(passages, sentence_ids, p, n_s)
                    n_s += len(p.sentences)
                chunked += len(doc.text)
        del old_by_doc
        if prior is not None:
            prior.passages, prior.sentence_ids = [], []
        dim = self.embedder.dimension
        n_p = len(passages)
        p_texts: dict[str, list[int]] = {}  # text -> its rows
        for row in new_p:
            p_texts.setdefault(passages[row].text, []).append(row)
        s_texts: dict[str, list[int]] = {}
        flat_sents = [s for p in passages for s in p.sentences] if new_s else []
        for row in new_s:
            s_texts.setdefault(flat_sents[row].text, []).append(row)
        del flat_sents
        from_index = [(p_texts[t][0], rows) for t, rows in s_texts.items() if t in p_texts]
        for t in [t for t in s_texts if t in p_texts]:
            del s_texts[t]
        meter = _Meter(self.progress, len(p_texts) + len(s_texts))

        p_mat = np.empty((n_p, dim), np.float32)
        if prior is not None and prior.index is not None:
            for a in range(0, len(copy_p), _BLOCK):
                old_ids = np.asarray(copy_p_old[a:a + _BLOCK], dtype=np.int64)
                p_mat[copy_p[a:a + _BLOCK]] = prior.index.vectors(old_ids)
            prior.index = None  # the previous index is freed here, before the new one is built
        self._embed_into(p_texts, p_mat, report, meter)
        del p_texts
        index = FaissIndex.for_size(n_p, dim)
        if passages:
            index.add(np.arange(n_p, dtype=np.int64), p_mat)
        del p_mat

        s_mat = np.empty((n_s, dim), np.float32)
        if prior is not None and prior.sentences is not None:
            for a in range(0, len(copy_s), _BLOCK):
                old_rows = copy_s_old[a:a + _BLOCK]
                s_mat[copy_s[a:a + _BLOCK]] = prior.sentences[old_rows]
                _release_pages(prior.sentences, min(old_rows), max(old_rows) + 1)
            prior.sentences = None
        for a in range(0, len(from_index), _BLOCK):
            block = from_index[a:a + _BLOCK]
            vectors = index.vectors(np.asarray([p_row for p_row, _ in block], dtype=np.int64))
            for (_, rows), vector in zip(block, vectors, strict=True):
                s_mat[rows] = vector
        self._embed_into(s_texts, s_mat, report, meter)
        report.passages_embedded = len(new_p)
        report.sentences_embedded = len(new_s)
        manifest = Manifest(
            embedder=self.embedder.model_id, dimension=dim, chunk_chars=self.chunk_chars, chunker=CHUNKER_VERSION,
            documents=len(docs), passages=n_p, sentences=n_s, created=time.time(), versions=library_versions(),
        )
        return Snapshot(manifest, dict(docs), passages, sentence_ids, index, s_mat)

    def _chunk_tick(self, before: int, total: int) -> Callable[[int], None] | None:
        """``chunk_document``'s progress callback for one document, counted after ``before`` characters."""
        report = self.chunk_progress
        if report is None or not total:
            return None
        return lambda done: report(before + done, total)

    def _embed_into(self, targets: dict[str, list[int]], out: np.ndarray, report: IngestReport,
                    meter: _Meter, batch: int = EMBED_BATCH) -> None:
        """Embed each distinct text of ``targets`` once (cached ones reused) and write its vector
        into its rows of ``out`` as soon as it is known.

        Batches are formed after sorting the missing texts by length, so padding stays small;
        each finished batch goes into the cache at once, so an interrupted run loses at most one.
        """
        if not targets:
            return
        model = self.embedder.model_id
        dim = self.embedder.dimension
        done: set[str] = set()
        if self.cache is not None:
            unique = list(targets)
            for a in range(0, len(unique), _BLOCK):
                for text, vec in self.cache.get(model, unique[a:a + _BLOCK], dim).items():
                    out[targets[text]] = vec
                    done.add(text)
        report.cached += len(done)
        meter.add(len(done))
        missing = sorted((t for t in targets if t not in done), key=len)
        del done
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            vectors = np.asarray(self.embedder.embed_documents([t[:EMBED_MAX_CHARS] for t in chunk]),
                                 dtype=np.float32)
            if vectors.shape != (len(chunk), dim):
                raise ModelError(f"the embedder returned vectors of shape {vectors.shape} for {len(chunk)} texts, "
                                 f"expected ({len(chunk)}, {dim})")
            if self.cache is not None:
                self.cache.put(model, chunk, vectors)
            for text, vec in zip(chunk, vectors, strict=True):
                out[targets[text]] = vec
            meter.add(len(chunk))


class _Prior:
    """What ``_build`` copies from the previous generation. The caller hands over its only
    reference, so each part is freed once copied: the old index is never held beside the new one."""

    def __init__(self, snap: Snapshot) -> None:
        self.passages: list[Passage] = snap.passages
        self.sentence_ids: list[tuple[int, ...]] = snap.sentence_ids
        self.index: FaissIndex | None = snap.passage_index
        self.sentences: np.ndarray | None = snap.sentence_vectors

    @classmethod
    def of(cls, snap: Snapshot | None) -> _Prior | None:
        return None if snap is None else cls(snap)


class _Meter:
    """Counts distinct texts done across the passage and the sentence pass, for one progress bar."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n
        if self.progress and self.total:
            self.progress(self.done, self.total)


def _release_pages(array: np.ndarray, start: int, stop: int) -> None:
    """Rows ``start:stop`` of a read-only, memory-mapped ``array`` are not needed again: their pages
    leave this process's resident memory (they stay in the page cache, so reading them again is
    correct, only slower). Does nothing for an array in ordinary memory."""
    mapped = array.base
    while mapped is not None and not isinstance(mapped, mmap.mmap):
        mapped = getattr(mapped, "base", None)
    if (mapped is None or array.flags.writeable or not array.flags.c_contiguous or stop <= start
            or not hasattr(mmap, "MADV_DONTNEED")):
        return
    try:
        origin = np.frombuffer(mapped, dtype=np.uint8).ctypes.data
        row = array.strides[0]
        first = array.ctypes.data - origin + start * row
        last = array.ctypes.data - origin + stop * row
        page = mmap.PAGESIZE
        lo, hi = first // page * page, min(len(mapped), -(-last // page) * page)
        if hi > lo:
            mapped.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
    except (OSError, ValueError, BufferError):
        pass


def _assign_ids(parsed: list[tuple[Path, Document]], old_docs: dict[str, Document], roots: list[Path],
                failed_paths: set[Path | None], remove: set[str],
                report: IngestReport) -> tuple[dict[str, Document], dict[str, Document]]:
    """Give every parsed file a stable, unique id; decide which indexed documents stay.

    A file already indexed keeps its id (matched by resolved path, or, when the indexed file no
    longer exists, by its name: the same article moved). Any other file gets its stem, or, when
    that id is taken by another file, its stem plus a short hash of its path (``dup-3f2a``),
    reported in ``report.collisions``. Returns the parsed documents by id and the indexed
    documents kept as they are; ``report.removed`` gets those dropped.
    """
    by_path: dict[Path, str] = {}
    for doc_id, d in old_docs.items():
        r = _resolve(d.path) if d.path else None
        if r is not None:
            by_path.setdefault(r, doc_id)
    claimed: dict[int, str] = {}
    for i, (resolved, _) in enumerate(parsed):
        if resolved in by_path and by_path[resolved] not in claimed.values():
            claimed[i] = by_path[resolved]
    for i, (resolved, doc) in enumerate(parsed):  # the same article, moved: its old file is gone
        old = old_docs.get(doc.doc_id)
        if (i not in claimed and old is not None and doc.doc_id not in claimed.values()
                and Path(old.path).name == resolved.name and not _exists(old.path)):
            claimed[i] = doc.doc_id
    claimed_ids = set(claimed.values())
    keep: dict[str, Document] = {}
    for doc_id, old in old_docs.items():
        if doc_id in remove:
            report.removed.append(doc_id)
        elif doc_id in claimed_ids:
            continue
        elif old.path and _under(old.path, roots) and _resolve(old.path) not in failed_paths:
            report.removed.append(doc_id)
        else:
            keep[doc_id] = old
    taken = set(keep) | claimed_ids
    owner: dict[str, str] = {}  # id -> path of the file that holds it, for collision messages
    owner.update({doc_id: old_docs[doc_id].path for doc_id in keep})
    new_docs: dict[str, Document] = {}
    groups: dict[str, list[str]] = {}
    for i, (resolved, doc) in enumerate(parsed):
        stem = doc.doc_id
        if i in claimed:
            doc_id = claimed[i]
        elif stem not in taken:
            doc_id = stem
        else:
            doc_id = _suffixed(stem, resolved, taken)
            groups.setdefault(stem, [stem]).append(doc_id)
        taken.add(doc_id)
        owner[doc_id] = doc.path
        if doc_id in remove:
            continue
        new_docs[doc_id] = dataclasses.replace(doc, doc_id=doc_id)
    for stem, ids in groups.items():
        name = Path(owner.get(ids[-1], stem)).name
        listed = ", ".join(ids[:-1]) + f" and {ids[-1]}"
        where = "; ".join(f"{i} = {safe_name(owner[i])}" for i in ids if i in owner)
        report.collisions.append(f"{len(ids)} files named {name}: ids {listed} ({where})")
    return new_docs, keep


def _suffixed(stem: str, path: Path, taken: set[str]) -> str:
    digest = hashlib.sha256(os.fsencode(str(path))).hexdigest()
    for width in range(4, len(digest) + 1, 2):
        candidate = f"{stem}-{digest[:width]}"
        if candidate not in taken:
            return candidate
    n = 2
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _resolve(path: Path | str) -> Path | None:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except (OSError, ValueError):
        return 0


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def _sort_into(report: IngestReport, doc: Document, prior: Document | None, same_chunks: bool) -> None:
    """Record a parsed document as added, unchanged (same content, same chunker) or updated."""
    if prior is None:
        report.added.append(doc.doc_id)
    elif prior.content_hash == doc.content_hash and same_chunks:
        report.unchanged.append(doc.doc_id)
    else:
        report.updated.append(doc.doc_id)


def _append(passages: list[Passage], sentence_ids: list[tuple[int, ...]], p: Passage, first_sid: int) -> None:
    pid = len(passages)
    passages.append(Passage(pid, p.doc_id, p.ordinal, p.text, p.start, p.end, p.sentences))
    sentence_ids.append(tuple(range(first_sid, first_sid + len(p.sentences))))


def _under(path: Path | str, roots: list[Path]) -> bool:
    resolved = _resolve(path)
    return resolved is not None and any(resolved == r or r in resolved.parents for r in roots)


class _Bar:
    """The progress callback of ``tqdm_progress``; ``close()`` ends the bar (also after an error)."""

    def __init__(self, label: str, unit: str = "text", scale: bool = False) -> None:
        self.label = label
        self.unit = unit
        self.scale = scale
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, initial=done, desc=self.label, unit=self.unit, unit_scale=self.scale,
                            file=sys.stderr, leave=True)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def tqdm_progress(label: str, unit: str = "text", scale: bool = False) -> _Bar:
    """A progress callback drawing a tqdm bar with its rate and an ETA on stderr, counting ``unit``
    (``scale``: with k/M prefixes, for bytes and characters).

    The first call may already count texts (found in the embedding cache); they are the bar's
    starting point, so the rate and ETA reflect only the texts embedded now.
    """
    return _Bar(label, unit, scale)
