"""Turn folders of articles into an index, incrementally.

A document whose content hash and chunk settings are unchanged keeps its
passages and vectors; only new or changed files are embedded, and files that
disappeared from an ingested folder are dropped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.embedder import Embedder
from embeddings.index import FaissIndex
from rag.chunk import CHUNKER_VERSION, chunk_document
from rag.embed_cache import EmbeddingCache
from rag.errors import InputError, RagError
from rag.parse import iter_files, parse_file
from rag.store import Manifest, Snapshot, Store, library_versions
from rag.types import Document, Passage

Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    passages_embedded: int = 0
    sentences_embedded: int = 0
    cached: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged",
                 f"{len(self.removed)} removed"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        rate = self.passages_embedded / self.seconds if self.seconds and self.passages_embedded else 0.0
        reused = f", {self.cached} texts from the embedding cache" if self.cached else ""
        return (f"ingest: {', '.join(parts)}; embedded {self.passages_embedded} passages and "
                f"{self.sentences_embedded} sentences in {self.seconds:.1f}s ({rate:.1f} passages/s{reused})")


class Ingestor:
    def __init__(self, store: Store, embedder: Embedder, chunk_chars: int = 500,
                 progress: Progress | None = None, cache: EmbeddingCache | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.chunk_chars = chunk_chars
        self.progress = progress
        self.cache = cache

    def _same_chunks(self, previous: Snapshot | None) -> bool:
        """Old passages are reusable only if the same chunker with the same size made them, and the same embedder."""
        return (previous is not None and previous.manifest.chunk_chars == self.chunk_chars
                and previous.manifest.chunker == CHUNKER_VERSION
                and previous.manifest.embedder == self.embedder.model_id)

    def _previous(self, rebuild: bool, reembed: bool = False) -> Snapshot | None:
        """The index to update; one built by another embedder is refused unless ``reembed`` asks to
        keep its articles and embed them all again."""
        if rebuild or not self.store.exists():
            return None
        snap = self.store.load()
        if not reembed:
            self.store.check_embedder(snap.manifest, self.embedder.model_id)
        return snap

    def ingest_documents(self, docs: list[Document]) -> IngestReport:
        """Make the index hold exactly ``docs`` (already parsed), embedding only what changed."""
        started = time.perf_counter()
        report = IngestReport()
        previous = self._previous(rebuild=False)
        old = previous.documents if previous else {}
        same_chunks = self._same_chunks(previous)
        report.removed = [d for d in old if d not in {x.doc_id for x in docs}]
        for doc in docs:
            _sort_into(report, doc, old.get(doc.doc_id), same_chunks)
        snapshot = self._build({d.doc_id: d for d in docs}, set(report.unchanged), previous, report)
        return self._write(snapshot, report, started, force=not same_chunks)

    def ingest(self, paths: list[Path], rebuild: bool = False, remove: list[str] | None = None,
               reembed: bool = False) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        previous = self._previous(rebuild, reembed)
        files = iter_files(paths)
        if not files and not remove:
            raise InputError(f"no .txt, .md or .html files in {', '.join(map(str, paths))}")
        parsed: dict[str, Document] = {}
        for f in files:
            try:
                doc = parse_file(f)
            except RagError as exc:
                report.failed.append((str(f), str(exc)))
                continue
            if doc.doc_id in parsed:
                report.failed.append((str(f), f"duplicate article id {doc.doc_id} (also {parsed[doc.doc_id].path})"))
                continue
            parsed[doc.doc_id] = doc

        old_docs = previous.documents if previous else {}
        same_chunks = self._same_chunks(previous)
        roots = [p.resolve() for p in paths]
        failed_paths = {str(Path(p).resolve()) for p, _ in report.failed}
        keep: dict[str, Document] = {}
        for doc_id, old in old_docs.items():
            if doc_id in (remove or []):
                report.removed.append(doc_id)
            elif doc_id in parsed:
                continue
            elif _under(Path(old.path), roots) and str(Path(old.path).resolve()) not in failed_paths:
                report.removed.append(doc_id)
            else:
                keep[doc_id] = old
        for doc_id, doc in parsed.items():
            if doc_id in (remove or []):
                continue
            _sort_into(report, doc, old_docs.get(doc_id), same_chunks)
            keep[doc_id] = doc

        reuse = set(report.unchanged) | (set(keep) - set(parsed) if same_chunks else set())
        snapshot = self._build(keep, reuse, previous, report)
        return self._write(snapshot, report, started, force=previous is None or not same_chunks)

    def _write(self, snapshot: Snapshot, report: IngestReport, started: float, force: bool) -> IngestReport:
        """Write a new generation only when something changed (or ``force``)."""
        if force or report.added or report.updated or report.removed:
            self.store.write(snapshot)
        report.seconds = time.perf_counter() - started
        return report

    def _build(self, docs: dict[str, Document], reuse: set[str], previous: Snapshot | None,
               report: IngestReport) -> Snapshot:
        passages: list[Passage] = []
        sentence_ids: list[tuple[int, ...]] = []
        p_vecs: list[np.ndarray | None] = []
        s_vecs: list[np.ndarray | None] = []
        to_embed_p: list[int] = []
        to_embed_s: list[int] = []
        for doc_id in sorted(docs):
            doc = docs[doc_id]
            if previous is not None and doc_id in reuse:
                olds = previous.passages_of(doc_id)
                old_vecs = previous.passage_index.vectors(np.array([p.passage_id for p in olds], dtype=np.int64))
                for p, vec in zip(olds, old_vecs, strict=True):
                    sids = previous.sentence_ids[p.passage_id]
                    _append(passages, sentence_ids, p, len(s_vecs))
                    p_vecs.append(vec)
                    s_vecs.extend(previous.sentence_vectors[list(sids)])
            else:
                for p in chunk_document(doc, self.chunk_chars):
                    to_embed_p.append(len(passages))
                    to_embed_s.extend(range(len(s_vecs), len(s_vecs) + len(p.sentences)))
                    _append(passages, sentence_ids, p, len(s_vecs))
                    p_vecs.append(None)
                    s_vecs.extend([None] * len(p.sentences))
        texts_p = [passages[i].text for i in to_embed_p]
        flat_sents = [s for p in passages for s in p.sentences]
        texts_s = [flat_sents[i].text for i in to_embed_s]
        vectors = self._embed(texts_p + texts_s, report)
        for i, vec in zip(to_embed_p, vectors[: len(texts_p)], strict=True):
            p_vecs[i] = vec
        for i, vec in zip(to_embed_s, vectors[len(texts_p):], strict=True):
            s_vecs[i] = vec
        report.passages_embedded = len(texts_p)
        report.sentences_embedded = len(texts_s)
        dim = self.embedder.dimension
        index = FaissIndex.for_size(len(passages), dim)
        if passages:
            index.add(np.arange(len(passages), dtype=np.int64), np.stack([v for v in p_vecs if v is not None]))
        sent_matrix = np.stack([v for v in s_vecs if v is not None]) if s_vecs else np.zeros((0, dim), np.float32)
        manifest = Manifest(
            embedder=self.embedder.model_id, dimension=dim, chunk_chars=self.chunk_chars, chunker=CHUNKER_VERSION,
            documents=len(docs),
            passages=len(passages), sentences=len(flat_sents), created=time.time(), versions=library_versions(),
        )
        return Snapshot(manifest, dict(docs), passages, sentence_ids, index, sent_matrix)

    def _embed(self, texts: list[str], report: IngestReport, batch: int = 32) -> np.ndarray:
        """Vectors for ``texts``: each distinct text once, cached ones reused, the rest by length.

        Batches are formed after sorting all missing texts by length, so padding stays small;
        each finished batch goes into the cache at once, so an interrupted run loses at most one.
        """
        if not texts:
            return np.zeros((0, self.embedder.dimension), np.float32)
        unique = list(dict.fromkeys(texts))
        model = self.embedder.model_id
        known = self.cache.get(model, unique, self.embedder.dimension) if self.cache is not None else {}
        report.cached = len(known)
        missing = sorted((t for t in unique if t not in known), key=len)
        if self.progress:
            self.progress(len(known), len(unique))
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            vectors = self.embedder.embed_documents(chunk)
            if self.cache is not None:
                self.cache.put(model, chunk, vectors)
            known.update(zip(chunk, vectors, strict=True))
            if self.progress:
                self.progress(len(known), len(unique))
        return np.stack([known[t] for t in texts]).astype(np.float32)


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


def _under(path: Path, roots: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == r or r in resolved.parents for r in roots)


def tqdm_progress(label: str) -> Progress:
    """A progress callback drawing a tqdm bar with texts/s and an ETA on stderr.

    The first call may already count texts (found in the embedding cache); they are the bar's
    starting point, so the rate and ETA reflect only the texts embedded now.
    """
    from tqdm import tqdm

    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, initial=done, desc=label, unit="text", file=sys.stderr, leave=True))
        bar[0].update(done - bar[0].n)
        if done >= total:
            bar[0].close()

    return update
