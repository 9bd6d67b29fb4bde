"""Turn folders of articles into an index, incrementally.

A document whose content hash and chunk settings are unchanged stays where it is in the index;
only new or changed files are chunked, embedded and written (as one new segment, see
``rag.store``), and files that disappeared from an ingested folder are dropped. A change of
chunker, chunk size or embedder rewrites everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.embedder import Embedder, PassageEmbedder
from rag.backend import IndexSnapshot, IndexStore
from rag.chunk import CHUNKER_VERSION, chunk_document
from rag.embed_cache import EmbeddingCache
from rag.errors import InputError, ModelError, RagError, printable, safe_name
from rag.parse import iter_files, parse_file
from rag.segment import Batch, DocRecord
from rag.store import Manifest
from rag.types import Document, Passage

Progress = Callable[[int, int], None]
Notify = Callable[[str], None]

# Cached vectors are fetched in blocks of this many texts, so no temporary holds all of them at once.
_BLOCK = 2048
EMBED_BATCH = 32
"""Texts per call of the embedder; its vectors go straight to their rows, then the batch is dropped."""
EMBED_MAX_CHARS = 32_000
"""The embedder sees at most this much of a text. Its model reads 2,048 tokens (about 9,000 characters
of German), so the vector is the same; a 30 MB text without a sentence boundary (one passage) would
otherwise be tokenized whole before being truncated."""
IN_PASSAGE = "#in-passage"
"""Cache namespace of sentence vectors pooled from their passage's run (keyed by passage and span)."""


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
    prepare_seconds: float = 0.0
    """Of ``seconds``, the embedder's preparation before its first text (``warm_up``): on a fresh machine
    the int8 model is exported then, and the seeds' first ingest read "130 sentences in 160.9s
    (0.3 passages/s)" where the embedding itself took 5 s (its progress bar, session 29)."""

    @property
    def embedding_seconds(self) -> float:
        """The ingest's time less the embedder's preparation: what its passages/s rate is taken over."""
        return max(0.0, self.seconds - self.prepare_seconds)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged",
                 f"{len(self.removed)} removed"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (not articles)")
        spent = self.embedding_seconds
        rate = self.passages_embedded / spent if spent and self.passages_embedded else 0.0
        reused = f", {self.cached} texts from the embedding cache" if self.cached else ""
        prepared = f", after {self.prepare_seconds:.1f}s preparing the embedder" if self.prepare_seconds >= 0.5 else ""
        return (f"ingest: {', '.join(parts)}; embedded {self.passages_embedded} passages and "
                f"{self.sentences_embedded} sentences in {spent:.1f}s ({rate:.1f} passages/s{reused}){prepared}")

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

    def __init__(self, store: IndexStore, embedder: Embedder, chunk_chars: int = 500,
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

    def _same_chunks(self, previous: IndexSnapshot | None) -> bool:
        """Old passages are reusable only if the same chunker with the same size made them, and the same embedder."""
        return (previous is not None and previous.manifest.chunk_chars == self.chunk_chars
                and previous.manifest.chunker == CHUNKER_VERSION
                and previous.manifest.embedder == self.embedder.model_id)

    def _previous(self, rebuild: bool, reembed: bool = False) -> tuple[IndexSnapshot | None, Mapping[str, Document]]:
        """The index to update and its articles. One built by another embedder is refused unless
        ``reembed`` asks to keep its articles and embed them all again; with ``reembed``, an index
        of the format before segments gives its articles to be written anew (no index to update
        then). Called with the writer lock held."""
        if rebuild or not self.store.exists():
            return None, {}
        legacy = self.store.legacy_documents() if reembed else None
        if legacy is not None:
            return None, legacy
        snap = self.store.load()
        if not reembed:
            self.store.check_embedder(snap.manifest, self.embedder.model_id)
        return snap, snap.documents

    def _say(self, line: str) -> None:
        if self.notify is not None:
            self.notify(line)

    def ingest_documents(self, docs: list[Document]) -> IngestReport:
        """Make the index hold exactly ``docs`` (already parsed), embedding only what changed.
        An index in the format before segments is started over: the articles are given, and the
        eval indexes cached by earlier versions (GNAD, XQuAD) are in that format."""
        started = time.perf_counter()
        report = IngestReport()
        with self.store.writer():
            self.store.tidy()
            legacy = self.store.exists() and self.store.legacy_documents() is not None
            previous, indexed = self._previous(rebuild=legacy)
            old = _records(indexed)
            same_chunks = self._same_chunks(previous)
            report.removed = [d for d in old if d not in {x.doc_id for x in docs}]
            for doc in docs:
                _sort_into(report, doc, old.get(doc.doc_id), same_chunks)
            return self._write({d.doc_id: d for d in docs}, {}, previous, same_chunks, report, started)

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
            previous, indexed = self._previous(rebuild, reembed)
            parsed = self._parse(files, report)
            old_docs = _records(indexed)
            same_chunks = self._same_chunks(previous)
            roots = [r for r in map(_resolve, paths) if r is not None]
            failed_paths = {_resolve(p) for p, _ in report.failed}
            new_docs, keep = _assign_ids(parsed, old_docs, roots, failed_paths, remove_ids, report)
            for line in report.collisions:
                self._say(printable(line))
            for doc_id, doc in new_docs.items():
                _sort_into(report, doc, old_docs.get(doc_id), same_chunks)
            return self._write(new_docs, {d: indexed[d] for d in keep} if not same_chunks else {}, previous,
                               same_chunks, report, started)

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

    def _write(self, new_docs: dict[str, Document], kept: dict[str, Document], previous: IndexSnapshot | None,
               same_chunks: bool, report: IngestReport, started: float) -> IngestReport:
        """Write what changed as a new generation: the added and updated articles as a segment, the
        removed and updated ones struck from theirs. Without an index to update, or when its chunks
        or vectors cannot be reused, everything (``new_docs`` and the indexed ``kept``) is written anew."""
        header = Manifest(embedder=self.embedder.model_id, dimension=self.embedder.dimension,
                          chunk_chars=self.chunk_chars, chunker=CHUNKER_VERSION, documents=0, passages=0,
                          sentences=0, created=0.0, versions={})
        if previous is None or not same_chunks:
            self.store.commit(header, self._batch({**kept, **new_docs}, report), replace_all=True)
        elif report.added or report.updated or report.removed:
            changed = {d: new_docs[d] for d in (*report.added, *report.updated)}
            self.store.commit(header, self._batch(changed, report), remove=report.removed)
        report.seconds = time.perf_counter() - started
        return report

    def _batch(self, docs: dict[str, Document], report: IngestReport) -> Batch:
        """``docs`` chunked and embedded, every vector held once until the store writes the segment.

        Vectors go straight into two preallocated float16 matrices (the store keeps float16
        anyway, so together they are the bytes of one float32 copy of all vectors), each as its
        embedding batch returns. Passages first; then the sentences, of which one whose text is
        also a passage takes that passage's row instead of being embedded again.
        """
        ordered = [docs[d] for d in sorted(docs)]
        if docs:
            self._warm_up(report)
        chunks = self._chunk(ordered)
        passages = [p for ps in chunks for p in ps]
        n_p = len(passages)
        if isinstance(self.embedder, PassageEmbedder):
            p_mat, s_mat = self._embed_in_passages(self.embedder, passages, report)
            return Batch(tuple(ordered), chunks, p_mat, s_mat)
        p_texts: dict[str, list[int]] = {}  # text -> its rows
        for row, p in enumerate(passages):
            p_texts.setdefault(p.text, []).append(row)
        s_texts: dict[str, list[int]] = {}
        n_s = 0
        for p in passages:
            for sent in p.sentences:
                s_texts.setdefault(sent.text, []).append(n_s)
                n_s += 1
        from_passages = [(p_texts[t][0], rows) for t, rows in s_texts.items() if t in p_texts]
        for t in p_texts:
            s_texts.pop(t, None)
        meter = _Meter(self.progress, len(p_texts) + len(s_texts))
        dim = self.embedder.dimension
        p_mat = np.empty((n_p, dim), np.float16)
        self._embed_into(p_texts, p_mat, report, meter)
        del p_texts
        s_mat = np.empty((n_s, dim), np.float16)
        for p_row, rows in from_passages:
            s_mat[rows] = p_mat[p_row]
        self._embed_into(s_texts, s_mat, report, meter)
        report.passages_embedded = n_p
        report.sentences_embedded = n_s
        return Batch(tuple(ordered), chunks, p_mat, s_mat)

    def _warm_up(self, report: IngestReport) -> None:
        """The embedder's ``warm_up`` (model load, or its export on first use), timed as ``prepare_seconds``."""
        warm = getattr(self.embedder, "warm_up", None)
        if warm is None:
            return
        started = time.perf_counter()
        warm()
        report.prepare_seconds += time.perf_counter() - started

    def _chunk(self, ordered: list[Document]) -> tuple[tuple[Passage, ...], ...]:
        """Each document's passages, reporting ``chunk_progress`` in characters as they are split."""
        total = sum(len(d.text) for d in ordered)
        if self.chunk_progress and total:
            self.chunk_progress(0, total)
        out = []
        chunked = 0
        for doc in ordered:
            out.append(tuple(chunk_document(doc, self.chunk_chars, progress=self._chunk_tick(chunked, total))))
            chunked += len(doc.text)
        return tuple(out)

    def _chunk_tick(self, before: int, total: int) -> Callable[[int], None] | None:
        """``chunk_document``'s progress callback for one document, counted after ``before`` characters."""
        report = self.chunk_progress
        if report is None or not total:
            return None
        return lambda done: report(before + done, total)

    def _embed_in_passages(self, embedder: PassageEmbedder, passages: list[Passage], report: IngestReport,
                           batch: int = EMBED_BATCH) -> tuple[np.ndarray, np.ndarray]:
        """Passage and sentence vectors from one run per distinct passage (``embed_passages``).

        A passage is looked up in the cache with its sentences (their vectors depend on the
        passage around them, so they are cached under the passage's text and their spans).
        """
        units: dict[tuple[str, tuple[tuple[int, int], ...]], list[int]] = {}
        first: list[int] = []
        n_s = 0
        for row, p in enumerate(passages):
            first.append(n_s)
            n_s += len(p.sentences)
            units.setdefault((p.text, tuple((s.start - p.start, s.end - p.start) for s in p.sentences)), []).append(row)
        dim = self.embedder.dimension
        p_mat = np.empty((len(passages), dim), np.float16)
        s_mat = np.empty((n_s, dim), np.float16)
        meter = _Meter(self.progress, len(units))
        model, inner = self.embedder.model_id, self.embedder.model_id + IN_PASSAGE

        def place(unit: tuple[str, tuple[tuple[int, int], ...]], pvec: np.ndarray, svecs: np.ndarray) -> None:
            for row in units[unit]:
                p_mat[row] = pvec
                s_mat[first[row]:first[row] + len(unit[1])] = svecs

        def keys(unit: tuple[str, tuple[tuple[int, int], ...]]) -> list[str]:
            return [f"{unit[0]}\x1f{a}:{b}" for a, b in unit[1]]

        missing = list(units)
        if self.cache is not None:
            missing, every = [], list(units)
            for a in range(0, len(every), _BLOCK // 8):
                block = every[a:a + _BLOCK // 8]
                pvs = self.cache.get(model, [u[0] for u in block], dim)
                got = self.cache.get(inner, [k for u in block if u[0] in pvs for k in keys(u)], dim)
                for unit in block:
                    if unit[0] not in pvs or any(k not in got for k in keys(unit)):
                        missing.append(unit)
                        continue
                    place(unit, pvs[unit[0]], np.stack([got[k] for k in keys(unit)]) if unit[1] else np.zeros((0, dim)))
                    report.cached += 1
            meter.add(len(units) - len(missing))
        missing.sort(key=lambda u: len(u[0]))
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            pvecs, svecs = embedder.embed_passages([u[0][:EMBED_MAX_CHARS] for u in chunk], [u[1] for u in chunk])
            pvecs = np.asarray(pvecs, dtype=np.float32)
            if pvecs.shape != (len(chunk), dim) or any(np.shape(v) != (len(u[1]), dim) for u, v in
                                                        zip(chunk, svecs, strict=True)):
                raise ModelError(f"the embedder returned vectors of the wrong shape for {len(chunk)} passages")
            for unit, pv, sv in zip(chunk, pvecs, svecs, strict=True):
                place(unit, pv, sv)
                if self.cache is not None:
                    self.cache.put(model, [unit[0]], pv[None, :])
                    if unit[1]:
                        self.cache.put(inner, keys(unit), np.asarray(sv, dtype=np.float32))
            meter.add(len(chunk))
        report.passages_embedded = len(passages)
        report.sentences_embedded = n_s
        return p_mat, s_mat

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


def _records(documents: Mapping[str, Document]) -> dict[str, DocRecord]:
    """Id, path and content hash of indexed articles; a stored index gives them without reading texts."""
    records = getattr(documents, "records", None)
    if callable(records):
        return records()
    return {d: DocRecord(d, doc.path, doc.content_hash) for d, doc in documents.items()}


def _assign_ids(parsed: list[tuple[Path, Document]], old_docs: Mapping[str, DocRecord], roots: list[Path],
                failed_paths: set[Path | None], remove: set[str],
                report: IngestReport) -> tuple[dict[str, Document], set[str]]:
    """Give every parsed file a stable, unique id; decide which indexed documents stay.

    A file already indexed keeps its id (matched by resolved path, or, when the indexed file no
    longer exists, by its name: the same article moved). Any other file gets its stem, or, when
    that id is taken by another file, its stem plus a short hash of its path (``dup-3f2a``),
    reported in ``report.collisions``. Returns the parsed documents by id and the indexed
    documents kept as they are (their ids); ``report.removed`` gets those dropped.
    """
    resolve = _Resolver()
    by_path: dict[str, str] = {}
    for doc_id, d in old_docs.items() if parsed else ():
        r = resolve(d.path) if d.path else None
        if r is not None:
            by_path.setdefault(r, doc_id)
    claimed: dict[int, str] = {}
    for i, (resolved, _) in enumerate(parsed):
        if str(resolved) in by_path and by_path[str(resolved)] not in claimed.values():
            claimed[i] = by_path[str(resolved)]
    for i, (resolved, doc) in enumerate(parsed):  # the same article, moved: its old file is gone
        old = old_docs.get(doc.doc_id)
        if (i not in claimed and old is not None and doc.doc_id not in claimed.values()
                and Path(old.path).name == resolved.name and not _exists(old.path)):
            claimed[i] = doc.doc_id
    claimed_ids = set(claimed.values())
    keep: set[str] = set()
    under = tuple(str(r) if str(r).endswith(os.sep) else str(r) + os.sep for r in roots)
    failed = {str(p) for p in failed_paths if p is not None}
    for doc_id, old in old_docs.items():
        if doc_id in remove:
            report.removed.append(doc_id)
        elif doc_id in claimed_ids:
            continue
        elif (old.path and roots and (where := resolve(old.path)) is not None
              and (where + os.sep).startswith(under) and where not in failed):
            report.removed.append(doc_id)
        else:
            keep.add(doc_id)
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


class _Resolver:
    """``_resolve`` as a string, for the many paths of an index's articles: each folder is resolved
    once and listed once (``scandir``, to know its symbolic links), so a file that is not a link
    resolves to its resolved folder plus its name, what resolving it whole gives, without a system
    call of its own. Adding one article to a 100,000-article archive resolved every article's path
    twice through ``pathlib``, 1.9 s a pass, 4 of the 6 s the addition took."""

    def __init__(self) -> None:
        self._folders: dict[str, tuple[str | None, frozenset[str]]] = {}

    def __call__(self, path: Path | str) -> str | None:
        folder, name = os.path.split(os.fspath(path))
        if name in ("", ".", ".."):
            return _text(_resolve(path))
        if folder not in self._folders:
            self._folders[folder] = (_text(_resolve(folder or ".")), _links(folder or "."))
        resolved, links = self._folders[folder]
        if name in links:
            return _text(_resolve(path))
        return None if resolved is None else os.path.join(resolved, name)


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _links(folder: str) -> frozenset[str]:
    """The names of the symbolic links in ``folder`` (none if it cannot be listed)."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name for e in entries if e.is_symlink())
    except OSError:
        return frozenset()


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


def _sort_into(report: IngestReport, doc: Document, prior: DocRecord | None, same_chunks: bool) -> None:
    """Record a parsed document as added, unchanged (same content, same chunker) or updated."""
    if prior is None:
        report.added.append(doc.doc_id)
    elif prior.content_hash == doc.content_hash and same_chunks:
        report.unchanged.append(doc.doc_id)
    else:
        report.updated.append(doc.doc_id)


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
