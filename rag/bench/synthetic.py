"""Synthetic corpora of any size, made from real German sentences and their real embeddings.

Embedding 100k passages is impossible in a bench run on two cores, so the
large corpora reuse what the real indexes already hold. A synthetic passage is
3-5 real sentences drawn at random (numbers replaced, sometimes a made-up name
inserted, so BM25 sees a long vocabulary tail). Each sentence vector is the real
embedding of the sentence it came from plus Gaussian noise (cosine ~0.9 to the
original); each passage vector is the normalised mean of its sentences' real
embeddings plus the same noise. Same seed, same corpus. A corpus is written through
the store, as ingest writes one, so retrieval reads it as it reads a real index.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.index import FaissIndex
from rag.store import Batch, Manifest, Snapshot, Store
from rag.types import Document, Passage, Sentence, text_digest

PASSAGES_PER_DOC = 5
NOISE_COSINE = 0.9
_SYLLABLES = ("ka", "lo", "wes", "ber", "tsch", "mi", "ro", "dan", "sk", "el", "gor", "ni", "schtsch", "ow", "ja")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Pool:
    """Real sentences and their real embeddings (row i embeds sentence i)."""

    sentences: tuple[str, ...]
    vectors: np.ndarray


@dataclass(frozen=True)
class SyntheticCorpus:
    snapshot: Snapshot
    exact: FaissIndex
    passage_vectors: np.ndarray
    build_index_s: float


def pool_from_snapshots(snapshots: Sequence[Snapshot]) -> Pool:
    texts: list[str] = []
    vecs: list[np.ndarray] = []
    for snap in snapshots:
        for passage, sids in zip(snap.passages, snap.sentence_ids, strict=True):
            texts.extend(s.text for s in passage.sentences)
            vecs.append(np.asarray(snap.sentence_vectors[list(sids)], dtype=np.float32))
    if not texts:
        raise ValueError("no sentences to build a synthetic corpus from")
    return Pool(tuple(texts), np.concatenate(vecs))


def _noise_sigma(dimension: int, cosine: float = NOISE_COSINE) -> float:
    """Per-coordinate sigma that puts a unit vector plus noise at ``cosine`` to the original."""
    return float(np.sqrt((1 / cosine**2 - 1) / dimension))


def _name(rng: np.random.Generator) -> str:
    parts = rng.choice(len(_SYLLABLES), size=int(rng.integers(2, 5)))
    return "".join(_SYLLABLES[i] for i in parts).capitalize()


def vary(sentence: str, rng: np.random.Generator) -> str:
    """The sentence with other numbers and, one time in three, a made-up name after a random word."""
    text = _NUMBER.sub(lambda m: str(int(rng.integers(0, 10 ** len(m.group())))), sentence)
    if rng.random() < 1 / 3:
        words = text.split(" ")
        at = int(rng.integers(0, len(words)))
        words.insert(at + 1, _name(rng))
        text = " ".join(words)
    return text


def _picks(pool: Pool, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.integers(3, 6, size=n)
    return counts, rng.integers(0, len(pool.sentences), size=int(counts.sum()))


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def synthetic_texts(pool: Pool, n: int, seed: int = 0) -> list[list[str]]:
    """``n`` passages, each a list of varied real sentences."""
    rng = np.random.default_rng(seed)
    counts, picks = _picks(pool, n, rng)
    out, at = [], 0
    for c in counts:
        out.append([vary(pool.sentences[j], rng) for j in picks[at:at + c]])
        at += int(c)
    return out


def synthetic_documents(pool: Pool, n: int, seed: int = 0) -> list[Document]:
    """``n`` documents of one synthetic passage each (long ones chunk into two), for timing ingestion."""
    docs = []
    for i, sents in enumerate(synthetic_texts(pool, n, seed)):
        text = " ".join(sents)
        docs.append(Document(doc_id=f"syn-{i:06d}", path="", text=text, title=f"Synthetic {i}",
                             content_hash=text_digest(text)))
    return docs


def synthetic_corpus(pool: Pool, n: int, workdir: Path, seed: int = 0, chunk: int = 50_000) -> SyntheticCorpus:
    """A searchable index of ``n`` passages in ``workdir``; ``build_index_s`` is the time the store took to write it."""
    rng = np.random.default_rng(seed)
    counts, picks = _picks(pool, n, rng)
    texts = synthetic_texts(pool, n, seed)
    dim = pool.vectors.shape[1]
    sigma = _noise_sigma(dim)
    workdir.mkdir(parents=True, exist_ok=True)
    sent_vecs = np.lib.format.open_memmap(workdir / f"sentences-{n}.npy", mode="w+", dtype=np.float16,
                                          shape=(len(picks), dim))
    for start in range(0, len(picks), chunk):
        base = pool.vectors[picks[start:start + chunk]]
        sent_vecs[start:start + len(base)] = _unit(base + sigma * rng.standard_normal(base.shape, dtype=np.float32))
    p_vecs = _passage_vectors(pool, counts, picks, rng, sigma)
    documents, passages = _articles(texts)
    manifest = Manifest(embedder="synthetic", dimension=dim, chunk_chars=0, documents=0, passages=0, sentences=0,
                        created=0.0, versions={})
    store = Store(workdir / f"index-{n}")
    started = time.perf_counter()
    store.commit(manifest, Batch(documents, passages, p_vecs, sent_vecs), replace_all=True)
    build_s = time.perf_counter() - started
    del sent_vecs
    (workdir / f"sentences-{n}.npy").unlink()
    exact = FaissIndex(dim)
    exact.add(np.arange(n, dtype=np.int64), p_vecs)
    return SyntheticCorpus(store.load(), exact, p_vecs, build_s)


def _passage_vectors(pool: Pool, counts: np.ndarray, picks: np.ndarray, rng: np.random.Generator,
                     sigma: float, chunk: int = 10_000) -> np.ndarray:
    """Noisy normalised means of each passage's real sentence vectors, ``chunk`` passages at a time."""
    dim = pool.vectors.shape[1]
    out = np.zeros((len(counts), dim), np.float32)
    ends = np.cumsum(counts)
    for a in range(0, len(counts), chunk):
        b = min(a + chunk, len(counts))
        lo = int(ends[a - 1]) if a else 0
        local = np.concatenate([[0], ends[a:b - 1] - lo]).astype(np.int64)
        means = np.add.reduceat(pool.vectors[picks[lo:int(ends[b - 1])]], local, axis=0)
        out[a:b] = _unit(_unit(means) + sigma * rng.standard_normal(means.shape, dtype=np.float32))
    return out


def _articles(texts: list[list[str]], first_doc: int = 0, folder: str = ""
              ) -> tuple[tuple[Document, ...], tuple[tuple[Passage, ...], ...]]:
    """Documents of ``PASSAGES_PER_DOC`` synthetic passages each, with character offsets, numbered from
    ``first_doc``; with a ``folder``, each has a path there (no file is written) and a content hash,
    as an ingested article has."""
    documents: list[Document] = []
    passages: list[tuple[Passage, ...]] = []
    for first in range(0, len(texts), PASSAGES_PER_DOC):
        doc_id = f"syn-{first_doc + first // PASSAGES_PER_DOC:06d}"
        offset, pieces, own = 0, [], []
        for ordinal, sents in enumerate(texts[first:first + PASSAGES_PER_DOC]):
            sentences, pos = [], offset
            for s in sents:
                sentences.append(Sentence(s, pos, pos + len(s)))
                pos += len(s) + 1
            text = " ".join(sents)
            own.append(Passage(first + ordinal, doc_id, ordinal, text, offset, offset + len(text), tuple(sentences)))
            pieces.append(text)
            offset += len(text) + 2
        text = "\n\n".join(pieces)
        documents.append(Document(doc_id=doc_id, path=f"{folder}/{doc_id}.txt" if folder else "", text=text,
                                  title=f"Synthetic {doc_id}", content_hash=text_digest(text) if folder else ""))
        passages.append(tuple(own))
    return tuple(documents), tuple(passages)
