"""The archive bench (issue 22): an archive of 100,000 articles on a laptop, measured as the app meets it.

``python -m rag.bench.archive --articles 100000`` writes a synthetic archive through the store
(``Store.write_streams``: one segment, as a first ``rag ingest`` of a folder writes it) and
measures it; ``--index DIR`` measures an existing index instead, through a copy whose segment
files are hard links, so the index itself is never written. ``rag bench --archive`` runs the same.

- Articles: ``PASSAGES_PER_DOC`` (5) passages of 3-5 real German sentences each, drawn from the
  pool (real sentences with their real embeddings), numbers replaced and made-up names inserted
  (``rag.bench.synthetic``), so texts differ; vectors are the real embeddings plus noise, NOT
  embeddings of the new text. The write time is therefore the store's throughput (SQLite, FTS5,
  FAISS, float16 sentence file), not the embedder's; the time spent making the articles is
  counted apart. Pool sentences held out of the archive are the queries: text for BM25, real
  vector plus noise for the dense side.
- Start-up: a fresh child process, from its spawn to the first ``Retriever.search`` result
  (interpreter, imports, ``Store.load``, ``Retriever``, one search with a given query vector; the
  embedder is a hash stand-in, no model is loaded). Measured twice: cold, after the index files'
  pages were dropped from the page cache (``posix_fadvise DONTNEED``; the share still cached at
  spawn is reported, from ``mincore``), then warm. Measured in-process it would miss the imports
  and find everything in memory already.
- RSS: that child's ``VmHWM`` after the queries (anonymous and file-mapped parts apart), and an
  app estimate: the models' RSS plus what the index added to the child after its imports.
- Retrieval: p50/p95 of ``Retriever.search`` over the queries, in each child; recall@10 of the
  passage index against an exact scan of the same (float16) vectors, ties counted as found.
- Add and remove one article: through ``Ingestor`` with a hash stand-in of the index's embedder
  id and dimension, in this process and as a child process each; every one is a new generation.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.bench.fakes import HashEmbedder
from rag.bench.report import Target, table
from rag.bench.stats import Summary, summarize
from rag.bench.synthetic import (
    PASSAGES_PER_DOC,
    Pool,
    _articles,
    _noise_sigma,
    _passage_vectors,
    _picks,
    _unit,
    pool_from_snapshots,
    synthetic_texts,
    vary,
)
from rag.chunk import CHUNKER_VERSION
from rag.manifest import FORMAT_VERSION, Manifest
from rag.segment import BLOCK, Article, Streams
from rag.snapshot import PassageIndex
from rag.store import Store

DEFAULT_ARTICLES = 100_000
CHUNK_ARTICLES = 2_000
"""Articles made at a time while writing: 10k passages and about 40k sentence vectors (60 MB float16)."""
QUERIES = 100
EF_SWEEP = (64, 128, 256, 512)
TOP_K = 8
CHUNK_CHARS = 500
GB = 1e9
MODELS_RSS_BYTES = 1.77e9
"""RSS of the app with both models loaded (int8 ONNX embedder, 1.5B GGUF read, not mapped) and a small index:
session 21's ``rag bench``, "RSS after loading models" (2.39e9 while the GGUF was mapped).
``rag bench`` uses its own measurement instead."""
MODELS_RSS = (MODELS_RSS_BYTES, "session 21 bench")
"""The models' RSS an estimate adds, and where it was measured."""
VECTORS_NOTE = ("vectors are synthetic (real sentence embeddings plus noise), not embedded: the write "
                "is the store's throughput, not the embedder's")


class StandIn(HashEmbedder):
    """``HashEmbedder`` under a given embedder id, so the ``Ingestor`` updates an index that another
    (real) embedder built instead of refusing it. Never a real model."""

    def __init__(self, model_id: str, dimension: int) -> None:
        super().__init__(dimension)
        self._model_id = model_id


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class Build:
    """Writing the synthetic archive: ``seconds`` in all, ``generate_s`` of it making the articles."""

    articles: int
    passages: int
    sentences: int
    seconds: float
    generate_s: float
    note: str = VECTORS_NOTE

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.seconds if self.seconds > 0 else 0.0

    @property
    def passages_per_s(self) -> float:
        return self.passages / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "articles_per_s": self.articles_per_s, "passages_per_s": self.passages_per_s}


@dataclass(frozen=True)
class Startup:
    """One fresh process: spawn to first search result, its phases, memory and query latencies."""

    cold: bool
    cached_at_spawn: float | None
    seconds: float
    imports_s: float
    load_s: float
    retriever_s: float
    first_search_s: float
    process_s: float
    rss_after_imports_bytes: int
    rss_after_first_bytes: int
    peak_rss_bytes: int
    rss_anon_bytes: int
    rss_file_bytes: int
    search: Summary
    dense: Summary
    recall_at_10: float | None
    recall_held_out: float | None = None
    ef_sweep: tuple[dict[str, float], ...] = ()
    rss_by_file: dict[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "search": self.search.to_json(), "dense": self.dense.to_json(),
                "ef_sweep": list(self.ef_sweep)}


@dataclass(frozen=True)
class Update:
    """Adding or removing one article through the ``Ingestor``: one new generation."""

    what: str
    target: str
    seconds: float
    process_s: float | None
    generation_before: str
    generation_after: str
    documents_before: int
    documents_after: int
    bytes_written: int

    @property
    def new_generation(self) -> bool:
        return self.generation_after != self.generation_before

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "new_generation": self.new_generation}


@dataclass(frozen=True)
class ArchiveResult:
    source: str
    articles: int
    passages: int
    sentences: int
    segments: int
    index_kind: str
    ef_search: int | None
    index_bytes: int
    queries: int
    pool: str
    build: Build | None
    cold: Startup
    warm: Startup
    add: Update
    remove: Update
    models_rss_bytes: float
    models_rss_source: str

    @property
    def bytes_per_article(self) -> float:
        return self.index_bytes / self.articles if self.articles else 0.0

    @property
    def app_rss_bytes(self) -> float:
        """The models' RSS plus what loading and searching the index added to a fresh process."""
        return self.models_rss_bytes + max(self.warm.peak_rss_bytes - self.warm.rss_after_imports_bytes, 0)

    @property
    def app_rss_without_index_files_bytes(self) -> float:
        """``app_rss_bytes`` less the index files' mapped pages (page cache: shared, and dropped under
        memory pressure, unlike the app's own allocations)."""
        mapped = sum((self.warm.rss_by_file or {}).values())
        return self.models_rss_bytes + max(self.warm.peak_rss_bytes - self.warm.rss_after_imports_bytes - mapped, 0)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "articles": self.articles, "passages": self.passages,
                "sentences": self.sentences, "segments": self.segments, "index_kind": self.index_kind,
                "ef_search": self.ef_search, "index_bytes": self.index_bytes,
                "bytes_per_article": self.bytes_per_article, "queries": self.queries, "pool": self.pool,
                "build": self.build.to_json() if self.build else None, "startup_cold": self.cold.to_json(),
                "startup_warm": self.warm.to_json(), "add_one": self.add.to_json(),
                "remove_one": self.remove.to_json(), "models_rss_bytes": self.models_rss_bytes,
                "models_rss_source": self.models_rss_source, "app_rss_bytes": self.app_rss_bytes,
                "app_rss_without_index_files_bytes": self.app_rss_without_index_files_bytes}


# ------------------------------------------------------------------ the pool of real sentences


def pool_from_index(root: Path) -> Pool:
    """The sentences and sentence vectors of an index of format 2 (segments), or of format 1 (one
    ``passages.sqlite`` and ``sentences.npy`` per generation, as the GNAD and XQuAD eval caches
    built by earlier versions still are)."""
    store = Store(root)
    gen = store.current_dir()
    if json.loads((gen / "manifest.json").read_text()).get("format") == FORMAT_VERSION:
        return pool_from_snapshots([store.load()])
    con = sqlite3.connect(f"file:{gen / 'passages.sqlite'}?mode=ro", uri=True)
    try:
        texts = tuple(r[0] for r in con.execute("SELECT text FROM sentences ORDER BY sentence_id"))
    finally:
        con.close()
    vectors = np.load(gen / "sentences.npy", allow_pickle=False).astype(np.float32)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise ValueError(f"{root}: {len(texts)} sentences but vectors of shape {vectors.shape}")
    return Pool(texts, vectors)


def default_pool_dirs(home: Path) -> list[Path]:
    """The index folders under the RAG home made by the newest real embedder (id ``st:…``), read only."""
    found: list[tuple[float, str, Path]] = []
    for folder in sorted(home.iterdir()) if home.is_dir() else []:
        try:
            data = json.loads((Store(folder).current_dir() / "manifest.json").read_text())
        except Exception:  # not an index, or one being rebuilt: not a source
            continue
        if str(data.get("embedder", "")).startswith("st:"):
            found.append((float(data.get("created", 0.0)), str(data["embedder"]), folder))
    if not found:
        return []
    newest = max(found)[1]
    return [folder for _, embedder, folder in found if embedder == newest]


def load_pool(dirs: Sequence[Path], log: Callable[[str], None]) -> tuple[Pool, str]:
    """Real sentences and vectors of ``dirs`` (those readable), or, with none, the seeds' sentences
    under ``HashEmbedder`` vectors; and a line saying which."""
    pools, used = [], []
    for folder in dirs:
        try:
            pools.append(pool_from_index(folder))
            used.append(folder.name)
        except Exception as exc:  # an index rebuilt meanwhile, or damaged: use the others
            log(f"pool: skipped {folder}: {type(exc).__name__}: {exc}")
    if pools and len({p.vectors.shape[1] for p in pools}) == 1:
        texts = tuple(s for p in pools for s in p.sentences)
        return Pool(texts, np.concatenate([p.vectors for p in pools])), (
            f"{len(texts)} real sentences with their real embeddings from {', '.join(used)}")
    from rag.bench.ingest_memory import seed_sentences

    texts = tuple(seed_sentences())
    return Pool(texts, HashEmbedder().embed_documents(texts)), (
        f"{len(texts)} seed sentences with HashEmbedder vectors (no real index found): "
        "dense recall and latency are not those of real vectors")


# ------------------------------------------------------------------ the synthetic archive


@dataclass(frozen=True)
class Queries:
    """Query texts (for BM25) and vectors; ``held_out`` marks those whose sentence is in no article."""

    texts: tuple[str, ...]
    vectors: np.ndarray
    held_out: np.ndarray

    def save(self, path: Path) -> None:
        np.savez(path, texts=np.array(self.texts), vectors=np.asarray(self.vectors, np.float32),
                 held_out=np.asarray(self.held_out, bool))

    @classmethod
    def load(cls, path: Path) -> Queries:
        data = np.load(path, allow_pickle=False)
        return cls(tuple(str(t) for t in data["texts"]), np.asarray(data["vectors"], np.float32),
                   np.asarray(data["held_out"], bool))


def _noisy(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _unit(_unit(base) + _noise_sigma(base.shape[1]) * rng.standard_normal(base.shape, dtype=np.float32))


def split_pool(pool: Pool, queries: int, seed: int) -> tuple[Pool, Queries]:
    """The pool the archive is made of, and ``queries`` queries, each a pool sentence's text and its
    real vector plus noise (cosine ~0.9): half of sentences the archive's articles use, as a question
    about an archived event resembles its sentences, half of sentences held out of the pool, which
    no article holds (their nearest passages are near-ties: the hard case for an approximate index)."""
    rng = np.random.default_rng([seed, 7])
    n_held = min(queries - queries // 2, max(1, len(pool.sentences) // 10))
    held = rng.choice(len(pool.sentences), size=n_held, replace=False)
    keep = np.setdiff1d(np.arange(len(pool.sentences)), held)
    corpus = Pool(tuple(pool.sentences[i] for i in keep), pool.vectors[keep])
    used = rng.choice(len(corpus.sentences), size=min(queries // 2, len(corpus.sentences)), replace=False)
    texts = tuple([corpus.sentences[i] for i in used] + [pool.sentences[i] for i in held])
    vectors = np.concatenate([_noisy(corpus.vectors[used], rng), _noisy(pool.vectors[held], rng)])
    return corpus, Queries(texts, vectors, np.arange(len(texts)) >= len(used))


class _Clock:
    """Time spent inside iterators: how much of a write went into making the synthetic articles."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, items: Iterator[Any]) -> Iterator[Any]:
        while True:
            started = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                self.seconds += time.perf_counter() - started
                return
            self.seconds += time.perf_counter() - started
            yield item


def archive_streams(pool: Pool, articles: int, folder: str, seed: int = 0, chunk: int = CHUNK_ARTICLES) -> Streams:
    """The three streams of ``articles`` synthetic articles for ``segment.write``, made ``chunk``
    articles at a time. Each chunk draws its sentences, texts and noises from generators of its own
    (seeded by ``seed``, the chunk and the purpose), so each stream remakes its part alone and none
    holds the whole archive."""
    dim = pool.vectors.shape[1]
    sigma = _noise_sigma(dim)
    spans = [(a, min(chunk, articles - a)) for a in range(0, articles, chunk)]

    def picks(c: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        return _picks(pool, count * PASSAGES_PER_DOC, np.random.default_rng([seed, c, 0]))

    def docs() -> Iterator[Article]:
        for c, (first, count) in enumerate(spans):
            counts, drawn = picks(c, count)
            rng = np.random.default_rng([seed, c, 1])
            texts, at = [], 0
            for k in counts:
                texts.append([vary(pool.sentences[j], rng) for j in drawn[at:at + k]])
                at += int(k)
            documents, passages = _articles(texts, first_doc=first, folder=folder)
            yield from zip(documents, passages, strict=True)

    def passage_vectors() -> Iterator[np.ndarray]:
        for c, (_, count) in enumerate(spans):
            counts, drawn = picks(c, count)
            vecs = _passage_vectors(pool, counts, drawn, np.random.default_rng([seed, c, 2]), sigma)
            for a in range(0, len(vecs), BLOCK):
                yield vecs[a:a + BLOCK].astype(np.float16)

    def sentence_vectors() -> Iterator[np.ndarray]:
        for c, (_, count) in enumerate(spans):
            _, drawn = picks(c, count)
            rng = np.random.default_rng([seed, c, 3])
            for a in range(0, len(drawn), BLOCK):
                base = pool.vectors[drawn[a:a + BLOCK]]
                yield _unit(base + sigma * rng.standard_normal(base.shape, dtype=np.float32)).astype(np.float16)

    return docs(), passage_vectors(), sentence_vectors()


def write_archive(pool: Pool, articles: int, root: Path, seed: int = 0) -> Build:
    """Write ``articles`` synthetic articles as a new index at ``root`` (embedder id: the hash stand-in's)."""
    dim = pool.vectors.shape[1]
    manifest = Manifest(embedder=HashEmbedder(dim).model_id, dimension=dim, chunk_chars=CHUNK_CHARS,
                        chunker=CHUNKER_VERSION, documents=0, passages=0, sentences=0, created=0.0, versions={})
    clock = _Clock()
    docs, p_vecs, s_vecs = archive_streams(pool, articles, str(root.parent / "articles"), seed)
    store = Store(root)
    started = time.perf_counter()
    store.write_streams(manifest, (clock.timed(docs), clock.timed(p_vecs), clock.timed(s_vecs)))
    seconds = time.perf_counter() - started
    written = store.read_manifest()
    return Build(written.documents, written.passages, written.sentences, seconds, clock.seconds)


def new_article(pool: Pool, folder: Path, name: str, seed: int) -> Path:
    """A new article file of ``PASSAGES_PER_DOC`` paragraphs of varied pool sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    paragraphs = [" ".join(s) for s in synthetic_texts(pool, PASSAGES_PER_DOC, seed)]
    path = folder / f"{name}.txt"
    path.write_text(f"Neu im Archiv {name}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ measuring an index


def index_files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, names in os.walk(root) for f in names]


def index_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in index_files(root))


def drop_cached(paths: Sequence[Path]) -> None:
    """Drop the files' pages from the page cache (those no process maps), so the next read is cold."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cached_fraction(paths: Sequence[Path]) -> float | None:
    """The share of the files' bytes in the page cache (``mincore``), None where it cannot be asked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                              ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    except (OSError, AttributeError):
        return None
    resident = total = 0
    for path in paths:
        size = path.stat().st_size
        if not size:
            continue
        pages = -(-size // mmap.PAGESIZE)
        fd = os.open(path, os.O_RDONLY)
        try:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                return None
            try:
                vec = (ctypes.c_ubyte * pages)()
                if libc.mincore(ctypes.c_void_p(addr), size, vec) != 0:
                    return None
                resident += sum(b & 1 for b in vec)
                total += pages
            finally:
                libc.munmap(ctypes.c_void_p(addr), size)
        finally:
            os.close(fd)
    return resident / total if total else None


def recall_at_10(index: PassageIndex, qvecs: np.ndarray, k: int = 10, block: int = 16_384) -> float:
    """Recall@k of ``index.search`` against an exact scan of the vectors the index holds: a found
    passage counts when its exact score reaches the k-th best (so ties cannot lower a flat index's)."""
    q = np.ascontiguousarray(qvecs, np.float32)
    k = min(k, index.size)
    if not k:
        return 1.0
    best = np.full((len(q), k), -np.inf, np.float32)
    for a in range(0, index.size, block):
        scores = (index.vectors(np.arange(a, min(a + block, index.size))) @ q.T).T
        both = np.concatenate([best, scores], axis=1)
        best = -np.partition(-both, k - 1, axis=1)[:, :k]
    kth = best.min(axis=1)
    _, found = index.search(q, k)
    hits = []
    for i, ids in enumerate(found):
        ids = ids[ids >= 0]
        true = index.vectors(ids) @ q[i] if len(ids) else np.zeros(0, np.float32)
        hits.append(min(int((true >= kth[i] - 1e-5).sum()), k) / k)
    return float(np.mean(hits))


def _memory() -> dict[str, int]:
    """This process's VmRSS, VmHWM, RssAnon and RssFile in bytes (Linux), else ru_maxrss only."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    out[key] = int(rest.split()[0]) * 1024
    except OSError:
        from rag.bench.stats import peak_rss_bytes

        out = {"VmRSS": peak_rss_bytes(), "VmHWM": peak_rss_bytes(), "RssAnon": 0, "RssFile": 0}
    return out


def mapped_rss() -> dict[str, int]:
    """Resident bytes of this process's file mappings by file name (``/proc/self/smaps``), for the
    index's files: which of them the file-mapped part of the RSS is."""
    out: dict[str, int] = {}
    name = ""
    try:
        with open("/proc/self/smaps") as f:
            for line in f:
                head = line.split(maxsplit=6)
                if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                    name = Path(head[5].strip()).name if len(head) > 5 else ""
                elif head and head[0] == "Rss:" and name in ("passages.faiss", "sentences.npy", "passages.sqlite"):
                    out[name] = out.get(name, 0) + int(head[1]) * 1024
    except OSError:
        return {}
    return out


def _child_start(args: argparse.Namespace) -> dict[str, Any]:
    """In a fresh process: load, build the retriever, answer the first query, then the rest."""
    entered = time.time()
    from rag.retrieve import Retriever

    imported = time.time()
    after_imports = _memory()["VmRSS"]
    queries = Queries.load(args.query_file)
    texts, qvecs = queries.texts, queries.vectors
    snapshot = Store(Path(args.index)).load()
    loaded = time.time()
    retriever = Retriever(snapshot, StandIn(snapshot.manifest.embedder, snapshot.manifest.dimension))
    built = time.time()
    retriever.search(texts[0], TOP_K, qvec=qvecs[0])
    first = time.time()
    after_first = _memory()["VmRSS"]
    search_t, dense_t = [], []
    for text, qvec in zip(texts, qvecs, strict=True):
        started = time.perf_counter()
        retriever.search(text, TOP_K, qvec=qvec)
        search_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        snapshot.passage_index.search(qvec[None, :], retriever.candidates)
        dense_t.append(time.perf_counter() - started)
    memory = _memory()
    by_file = mapped_rss()
    recall, held, sweep = (_recalls(snapshot.passage_index, queries) if args.recall else (None, None, []))
    return {"entered": entered, "imported": imported, "loaded": loaded, "built": built, "first": first,
            "rss_after_imports": after_imports, "rss_after_first": after_first, "memory": memory, "by_file": by_file,
            "search": search_t, "dense": dense_t, "recall": recall, "recall_held_out": held, "ef_sweep": sweep}


def _recalls(index: PassageIndex, queries: Queries) -> tuple[float | None, float | None, list[dict[str, float]]]:
    """Recall@10 of the archive's and the held-out queries; for an HNSW index also at other efSearch."""
    def both() -> tuple[float | None, float | None]:
        own, held = queries.vectors[~queries.held_out], queries.vectors[queries.held_out]
        return (recall_at_10(index, own) if len(own) else None, recall_at_10(index, held) if len(held) else None)

    recall, held = both()
    sweep = []
    chosen = getattr(index, "ef_search", None)
    if chosen is not None:
        for ef in EF_SWEEP:
            index.ef_search = ef  # type: ignore[attr-defined]
            times = []
            for v in queries.vectors:
                started = time.perf_counter()
                index.search(v[None, :], 10)
                times.append(time.perf_counter() - started)
            own_r, held_r = both()
            sweep.append({"ef_search": ef, "recall_at_10": own_r if own_r is not None else float("nan"),
                          "recall_held_out": held_r if held_r is not None else float("nan"),
                          "dense_p95_s": summarize(times).p95})
        index.ef_search = chosen  # type: ignore[attr-defined]
    return recall, held, sweep


def _child_update(args: argparse.Namespace) -> dict[str, Any]:
    return update(Path(args.index), args.what, args.target).to_json()


def update(root: Path, what: str, target: str) -> Update:
    """Add the article file ``target`` or remove the article id ``target`` with the ``Ingestor``."""
    from rag.ingest import Ingestor

    store = Store(root)
    manifest = store.read_manifest()
    before_gen, before_files = store.current_dir().name, set(index_files(root))
    ingestor = Ingestor(store, StandIn(manifest.embedder, manifest.dimension), manifest.chunk_chars)
    started = time.perf_counter()
    report = ingestor.ingest([Path(target)]) if what == "add" else ingestor.ingest([], remove=[target])
    seconds = time.perf_counter() - started
    if (what == "add" and len(report.added) != 1) or (what == "remove" and report.removed != [target]):
        raise RuntimeError(f"{what} {target}: {report.summary()}")
    written = sum(p.stat().st_size for p in set(index_files(root)) - before_files)
    return Update(what, target, seconds, None, before_gen, store.current_dir().name, manifest.documents,
                  store.read_manifest().documents, written)


def _spawn(args: list[str], out: Path) -> tuple[dict[str, Any], float, float]:
    """Run this module as a child with ``args``; its JSON, its spawn time and its wall time."""
    cmd = [sys.executable, "-m", "rag.bench.archive", *args, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    spawned = time.time()
    proc = subprocess.Popen(cmd, env=env)
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.time() - spawned
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not out.exists():
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}")
    return json.loads(out.read_text()), spawned, wall


def startup(root: Path, queries: Path, workdir: Path, cold: bool, recall: bool) -> Startup:
    """Start-up of a fresh process on the index at ``root`` (see the module docstring)."""
    files = index_files(root)
    if cold:
        drop_cached(files)
    cached = cached_fraction(files)
    tag = "cold" if cold else "warm"
    data, spawned, wall = _spawn(["--child", "start", "--index", str(root), "--query-file", str(queries),
                                  *(["--recall"] if recall else [])], workdir / f"start-{tag}.json")
    memory = data["memory"]
    return Startup(cold=cold, cached_at_spawn=cached, seconds=data["first"] - spawned,
                   imports_s=data["imported"] - spawned, load_s=data["loaded"] - data["imported"],
                   retriever_s=data["built"] - data["loaded"], first_search_s=data["first"] - data["built"],
                   process_s=wall, rss_after_imports_bytes=data["rss_after_imports"],
                   rss_after_first_bytes=data["rss_after_first"], peak_rss_bytes=memory["VmHWM"],
                   rss_anon_bytes=memory.get("RssAnon", 0), rss_file_bytes=memory.get("RssFile", 0),
                   search=summarize(data["search"]), dense=summarize(data["dense"]), recall_at_10=data["recall"],
                   recall_held_out=data["recall_held_out"], ef_sweep=tuple(data["ef_sweep"]),
                   rss_by_file=data["by_file"])


def update_process(root: Path, what: str, target: str, workdir: Path) -> Update:
    data, _, wall = _spawn(["--child", what, "--index", str(root), "--target", target],
                           workdir / f"{what}-process.json")
    fields = {k: v for k, v in data.items() if k in Update.__dataclass_fields__}
    return Update(**{**fields, "process_s": wall})


def _measure(root: Path, source: str, build: Build | None, asked: Queries,
             additions: tuple[Path, Path], removals: tuple[str, str], pool: str, workdir: Path,
             log: Callable[[str], None], models_rss: tuple[float, str]) -> ArchiveResult:
    queries = workdir / "queries.npz"
    asked.save(queries)
    manifest = Store(root).read_manifest()
    size = index_bytes(root)
    log(f"{source}: start-up, cold page cache")
    cold = startup(root, queries, workdir, cold=True, recall=False)
    log(f"{source}: start-up, warm; {len(asked.texts)} queries; recall@10 against an exact scan")
    warm = startup(root, queries, workdir, cold=False, recall=True)
    snapshot = Store(root).load()
    index = snapshot.passage_index
    kind, ef, segments = index.kind, getattr(index, "ef_search", None), len(snapshot.segments)
    del snapshot, index
    log(f"{source}: add and remove one article, in this process")
    add = update(root, "add", str(additions[0]))
    remove = update(root, "remove", removals[0])
    log(f"{source}: add and remove one article, each as a process")
    add_p = update_process(root, "add", str(additions[1]), workdir)
    remove_p = update_process(root, "remove", removals[1], workdir)
    return ArchiveResult(
        source=source, articles=manifest.documents, passages=manifest.passages, sentences=manifest.sentences,
        segments=segments, index_kind=kind, ef_search=ef, index_bytes=size, queries=len(asked.texts), pool=pool,
        build=build, cold=cold, warm=warm,
        add=Update(**{**asdict(add), "process_s": add_p.process_s}),
        remove=Update(**{**asdict(remove), "process_s": remove_p.process_s}),
        models_rss_bytes=models_rss[0], models_rss_source=models_rss[1])


def synthetic_archive(pool: Pool, articles: int, workdir: Path, pool_note: str = "", queries: int = QUERIES,
                      seed: int = 0, log: Callable[[str], None] | None = None,
                      models_rss: tuple[float, str] = MODELS_RSS) -> ArchiveResult:
    """Write ``articles`` synthetic articles into ``workdir`` and measure them (see the module docstring)."""
    say = log or _log
    corpus, asked = split_pool(pool, queries, seed)
    root = workdir / "index"
    say(f"writing {articles} synthetic articles ({articles * PASSAGES_PER_DOC} passages)")
    build = write_archive(corpus, articles, root, seed)
    say(f"wrote {build.articles} articles in {build.seconds:.1f}s ({build.generate_s:.1f}s making them)")
    incoming = workdir / "articles"
    adds = (new_article(corpus, incoming, "neu-1", seed + 101), new_article(corpus, incoming, "neu-2", seed + 102))
    removes = (f"syn-{articles // 2:06d}", f"syn-{articles // 3:06d}")
    return _measure(root, f"synthetic {articles}", build, asked, adds, removes,
                    pool_note or f"{len(pool.sentences)} sentences", workdir, say, models_rss)


def existing_archive(index: Path, workdir: Path, queries: int = QUERIES, seed: int = 0,
                     log: Callable[[str], None] | None = None,
                     models_rss: tuple[float, str] = MODELS_RSS) -> ArchiveResult:
    """Measure the index at ``index`` through a copy in ``workdir`` (segment files hard-linked)."""
    say = log or _log
    root = workdir / "index"
    copy_index(index, root)
    snapshot = Store(root).load()
    rng = np.random.default_rng([seed, 11])
    pids = rng.choice(len(snapshot.passages), size=min(queries, len(snapshot.passages)), replace=False)
    texts = [snapshot.passages[int(p)].sentences[0].text for p in pids]
    base = snapshot.sentence_vectors[np.array([snapshot.sentence_ids[int(p)][0] for p in pids])]
    asked = Queries(tuple(texts), _noisy(base, rng), np.zeros(len(texts), bool))
    doc_ids = list(snapshot.documents)
    removes = (doc_ids[len(doc_ids) // 2], doc_ids[len(doc_ids) // 3 if len(doc_ids) > 2 else -1])
    pool = Pool(tuple(s.text for p in snapshot.passages[: 200] for s in p.sentences), np.zeros((0, 1)))
    del snapshot
    incoming = workdir / "incoming"
    adds = (new_article(pool, incoming, "neu-1", seed + 101), new_article(pool, incoming, "neu-2", seed + 102))
    size = index_bytes(index)
    result = _measure(root, f"index {index.name}", None, asked, adds, removes,
                      "queries: the index's own sentences, vector plus noise", workdir, say, models_rss)
    return ArchiveResult(**{**result.__dict__, "index_bytes": size})


def copy_index(src: Path, dest: Path) -> None:
    """A writable copy of the index at ``src``: its current generation, and its segments' files as
    hard links (segments are never changed; a write adds files and unlinks only the copy's names),
    copied where a link cannot be made."""
    store = Store(src)
    gen = store.current_dir()
    data = json.loads((gen / "manifest.json").read_text())
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"{src} is an index of format {data.get('format')}; only format {FORMAT_VERSION} "
                         "(segments) can be measured: `rag ingest --rebuild` it first")
    dest.mkdir(parents=True)
    shutil.copytree(gen, dest / gen.name)
    for seg in data["segments"]:
        (dest / "segments" / seg["name"]).mkdir(parents=True)
        for name in seg["files"]:
            source, target = src / "segments" / seg["name"] / name, dest / "segments" / seg["name"] / name
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
    (dest / "CURRENT").write_text(gen.name + "\n")


# ------------------------------------------------------------------ the table and the targets


def _f(x: float | None, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if x is None else f"{x * scale:.{digits}f}"


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, median or value, p95, note) lines of one archive's figures."""
    name = f"archive {r['source']} ({r['articles']} articles)"
    kind = r["index_kind"] + (f" ef={r['ef_search']}" if r["ef_search"] else "")
    cold, warm, add, remove = r["startup_cold"], r["startup_warm"], r["add_one"], r["remove_one"]
    out: list[tuple[str, str, str, str]] = [(name, "", "", f"{r['passages']} passages, {r['sentences']} sentences, "
                                                          f"{r['segments']} segment(s), {kind}")]
    b = r.get("build")
    if b:
        out.append(("  write (s)", _f(b["seconds"], digits=1), "",
                    f"{b['articles_per_s']:.0f} articles/s, {b['passages_per_s']:.0f} passages/s "
                    f"({b['generate_s']:.1f}s of it making the articles); {b['note']}"))
    out.append(("  index on disk (GB)", _f(r["index_bytes"] / GB, digits=3), "",
                f"{r['bytes_per_article'] / 1e3:.1f} KB per article"))
    for s, label in ((cold, "cold"), (warm, "warm")):
        cached = "-" if s["cached_at_spawn"] is None else f"{s['cached_at_spawn']:.0%}"
        out.append((f"  start-up to first result, {label} (s)", _f(s["seconds"]), "",
                    f"fresh process: python + imports {s['imports_s']:.2f}, load {s['load_s']:.2f}, retriever "
                    f"{s['retriever_s']:.2f}, first search {s['first_search_s']:.2f}; {cached} of the index "
                    "in the page cache at spawn"))
    out.append(("  peak RSS of that process (GB)", _f(warm["peak_rss_bytes"] / GB, digits=3), "",
                f"anon {warm['rss_anon_bytes'] / GB:.3f} + file-mapped {warm['rss_file_bytes'] / GB:.3f} ("
                + ", ".join(f"{k} {v / GB:.3f}" for k, v in sorted((warm.get("rss_by_file") or {}).items()))
                + f") after {warm['search']['n']} queries; {warm['rss_after_imports_bytes'] / GB:.3f} after imports"))
    out.append(("  app RSS estimate (GB)", _f(r["app_rss_bytes"] / GB, digits=3), "",
                f"models {r['models_rss_bytes'] / GB:.2f} ({r['models_rss_source']}) + the index's share; "
                f"{r['app_rss_without_index_files_bytes'] / GB:.3f} without the index files' mapped pages"))
    out.append(("  retrieval, full search (ms)", _f(warm["search"]["median"], 1000, 1),
                _f(warm["search"]["p95"], 1000, 1),
                f"warm process; cold process p50/p95 {_f(cold['search']['median'], 1000, 1)}/"
                f"{_f(cold['search']['p95'], 1000, 1)}"))
    out.append(("  dense FAISS only (ms)", _f(warm["dense"]["median"], 1000, 2), _f(warm["dense"]["p95"], 1000, 2),
                f"recall@10 vs exact {_f(warm['recall_at_10'], digits=3)} (archive's sentences), "
                f"{_f(warm.get('recall_held_out'), digits=3)} (held-out sentences)"))
    for e in warm.get("ef_sweep") or []:
        out.append((f"  HNSW efSearch={e['ef_search']}", "", _f(e["dense_p95_s"], 1000, 2),
                    f"recall@10 {e['recall_at_10']:.3f}, held-out {e['recall_held_out']:.3f}"))
    for u, label in ((add, "add"), (remove, "remove")):
        out.append((f"  {label} one article (s)", _f(u["seconds"]), "",
                    f"as a process {_f(u['process_s'])}s; {u['documents_before']} -> {u['documents_after']} "
                    f"articles, new generation: {'yes' if u['new_generation'] else 'NO'}; "
                    f"{u['bytes_written'] / 1e3:.0f} KB written"))
    return out


def targets(r: dict[str, Any]) -> list[Target]:
    """Issue 22's targets for one archive: app RSS <= 3 GB, start-up <= 15 s, p95 <= 100 ms,
    recall@10 >= 0.95, adding or removing one article <= 5 s (the slower of in-process and process)."""
    n = r["articles"]
    rss = r["app_rss_bytes"] / GB
    start = r["startup_cold"]["seconds"]
    p95 = r["startup_warm"]["search"]["p95"] * 1000
    recall, held = r["startup_warm"]["recall_at_10"], r["startup_warm"].get("recall_held_out")
    add = max(r["add_one"]["seconds"], r["add_one"]["process_s"] or 0.0)
    remove = max(r["remove_one"]["seconds"], r["remove_one"]["process_s"] or 0.0)
    return [Target(f"archive {n}: app RSS estimate (GB)", rss, "<= 3", rss <= 3),
            Target(f"archive {n}: cold start-up to first result (s)", start, "<= 15", start <= 15),
            Target(f"archive {n}: retrieval p95 (ms)", p95, "<= 100", p95 <= 100),
            Target(f"archive {n}: recall@10 vs exact", recall, ">= 0.95", None if recall is None else recall >= 0.95),
            Target(f"archive {n}: recall@10 vs exact, held-out queries", held, ">= 0.95",
                   None if held is None else held >= 0.95),
            Target(f"archive {n}: add one article (s)", add, "<= 5", add <= 5),
            Target(f"archive {n}: remove one article (s)", remove, "<= 5", remove <= 5)]


def _goals(results: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(t.name, _f(t.value, digits=3), t.goal, {True: "yes", False: "no", None: "n/a"}[t.ok])
            for r in results for t in targets(r)]


def render(report: dict[str, Any]) -> str:
    lines = [x for r in report["archives"] for x in rows(r)]
    return (table(("measure", "median", "p95", "notes"), lines) + "\n\n"
            + table(("target", "value", "goal", "pass"), _goals(report["archives"])))


def markdown(report: dict[str, Any]) -> str:
    def md(header: tuple[str, ...], lines: Sequence[tuple[str, ...]]) -> str:
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                          *("| " + " | ".join(x) + " |" for x in lines)])

    lines = [x for r in report["archives"] for x in rows(r)]
    notes = "\n".join(f"- {n}" for n in report.get("notes") or [])
    return (f"# rag archive bench\n\n{report.get('machine')}\n\n" + md(("measure", "median", "p95", "notes"), lines)
            + "\n\n## Targets (informational)\n\n" + md(("target", "value", "goal", "pass"), _goals(report["archives"]))
            + f"\n\n## How it was measured\n\n{notes}\n")


NOTES = [
    "Synthetic archives: " + VECTORS_NOTE + "; articles of 5 passages of 3-5 real German sentences "
    "(numbers replaced, made-up names inserted), written through the store as one segment "
    "(Store.write_streams), as a first `rag ingest` of a folder writes it.",
    "Queries: pool sentences held out of the archive (text for BM25, real vector plus noise for the dense "
    "side); for an existing index, its own sentences, vector plus noise.",
    "Start-up: a fresh child process from spawn to the first Retriever.search result (interpreter, imports, "
    "Store.load, Retriever, one search with a given query vector; a hash stand-in embedder, no model loaded). "
    "Cold: the index files' pages dropped (posix_fadvise DONTNEED) before spawn; warm: right after.",
    "RSS: the child's VmHWM after the queries. App estimate: the models' RSS plus the child's growth "
    "after its imports (the models' figure includes an interpreter already). The file-mapped part is the "
    "index files' pages in the page cache that the process mapped: on this kernel a fault maps a whole "
    "large folio of cached pages, so with the files cached one HNSW search mapped 0.71 GB of passages.faiss "
    "(100k articles); shared and reclaimable, but counted in RSS, so it depends on how much of the index the "
    "page cache held. Sentence rows are read with preadv, not mapped (mapped, 1,000 random rows had put "
    "1.09 GB of sentences.npy in RSS).",
    "Recall@10: the passage index against an exact scan of the same float16 vectors, ties counted as found.",
    "Add/remove one article: Ingestor with a hash stand-in under the index's embedder id, in this process and "
    "as a child process (its wall time, imports included); each makes a new generation.",
]


def _log(message: str) -> None:
    print(f"[archive] {message}", file=sys.stderr, flush=True)


def article_counts(raw: str) -> tuple[int, ...]:
    """``--archive`` / ``--articles``: comma-separated article counts; 0 or nothing skips."""
    try:
        sizes = tuple(int(s) for s in raw.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"wants comma-separated article counts, not {raw!r}") from None
    if any(s < 0 for s in sizes) or any(0 < s < 10 for s in sizes):
        raise ValueError("an archive has at least 10 articles (0 skips it)")
    return tuple(s for s in sizes if s)


def run_all(pool: Pool | None, pool_note: str, sizes: Sequence[int], index: Path | None, queries: int,
            log: Callable[[str], None], workdir: Path | None = None,
            models_rss: tuple[float, str] = MODELS_RSS) -> list[dict[str, Any]]:
    """Every synthetic size, then the existing index, each in a fresh folder removed afterwards."""
    out = []
    base = workdir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        assert pool is not None
        with tempfile.TemporaryDirectory(prefix=f"rag-archive-{n}-", dir=base) as tmp:
            out.append(synthetic_archive(pool, n, Path(tmp), pool_note, queries, log=log,
                                         models_rss=models_rss).to_json())
    if index is not None:
        with tempfile.TemporaryDirectory(prefix="rag-archive-index-", dir=base) as tmp:
            out.append(existing_archive(index, Path(tmp), queries, log=log, models_rss=models_rss).to_json())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.archive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", default=str(DEFAULT_ARTICLES),
                        help="synthetic archive sizes in articles, comma-separated (0: none)")
    parser.add_argument("--index", type=Path, help="also measure this existing index (format 2), through a copy")
    parser.add_argument("--pool", type=Path, action="append",
                        help="index folder whose real sentences and vectors make the articles (repeatable; default: "
                             "the RAG home's indexes of the newest real embedder)")
    parser.add_argument("--queries", type=int, default=QUERIES, help="retrieval queries")
    parser.add_argument("--workdir", type=Path, help="folder for the archives (default: the system's temporary one)")
    parser.add_argument("--report", type=Path, default=Path("reports/bench"), help="folder for archive.json/.md")
    parser.add_argument("--child", choices=("start", "add", "remove"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--query-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--what", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--recall", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.what = args.child
        data = _child_start(args) if args.child == "start" else _child_update(args)
        args.out.write_text(json.dumps(data))
        return 0
    try:
        sizes = article_counts(args.articles)
    except ValueError as exc:
        parser.error(f"--articles {exc}")
    if not sizes and args.index is None:
        parser.error("nothing to measure: give --articles N or --index DIR")
    pool, note = None, ""
    if sizes:
        from rag.settings import default_home

        pool, note = load_pool(args.pool or default_pool_dirs(default_home()), _log)
        _log(f"pool: {note}")
    from rag.bench.runner import machine_info

    archives = run_all(pool, note, sizes, args.index, args.queries, _log, args.workdir)
    report: dict[str, Any] = {"version": 1, "created": time.time(), "machine": machine_info(os.cpu_count() or 1),
                              "notes": NOTES, "archives": archives}
    report["targets"] = [t.to_json() for r in report["archives"] for t in targets(r)]
    args.report.mkdir(parents=True, exist_ok=True)
    (args.report / "archive.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (args.report / "archive.md").write_text(markdown(report))
    print(render(report))
    print(f"\nwrote {args.report / 'archive.json'} and {args.report / 'archive.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
