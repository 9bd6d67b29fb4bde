"""Resumable ingest: the embedding cache keeps finished batches across an interrupted run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_IDS
from fakes import FakeEmbedder
from test_ingest import assert_vectors_match_texts

from rag.embed_cache import EmbeddingCache
from rag.ingest import Ingestor
from rag.store import Store


class InterruptingEmbedder(FakeEmbedder):
    """Like ``FakeEmbedder`` but raises ``KeyboardInterrupt`` on its ``interrupt_on``-th document call."""

    def __init__(self, interrupt_on: int, model_id: str = "fake:hash-64") -> None:
        super().__init__(model_id)
        self.interrupt_on = interrupt_on

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.document_calls + 1 == self.interrupt_on:
            raise KeyboardInterrupt
        return super().embed_documents(texts)


@pytest.fixture
def cache(tmp_path: Path) -> EmbeddingCache:
    return EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite")


def distinct_texts(store: Store) -> set[str]:
    snap = store.load()
    return {p.text for p in snap.passages} | {s.text for p in snap.passages for s in p.sentences}


def test_interrupted_ingest_resumes_without_redoing_finished_batches(store: Store, cache: EmbeddingCache,
                                                                     seeds_dir: Path) -> None:
    first = InterruptingEmbedder(interrupt_on=4)
    with pytest.raises(KeyboardInterrupt):
        Ingestor(store, first, 500, cache=cache).ingest([seeds_dir])
    assert not store.exists(), "the index is written only when ingest finishes"
    done_before = set(first.documents)
    assert first.document_calls == 3 and 2 * 32 < len(done_before) <= 3 * 32  # three batches finished

    second = FakeEmbedder()
    report = Ingestor(store, second, 500, cache=cache).ingest([seeds_dir])
    assert sorted(report.added) == SEED_IDS
    assert report.cached == len(done_before)
    assert not done_before & set(second.documents), "finished texts must not be embedded again"
    assert done_before | set(second.documents) == distinct_texts(store)
    assert "from the embedding cache" in report.summary()
    assert_vectors_match_texts(store.load(), second)


def test_rebuild_with_a_warm_cache_embeds_nothing(store: Store, cache: EmbeddingCache, seeds_dir: Path) -> None:
    Ingestor(store, FakeEmbedder(), 500, cache=cache).ingest([seeds_dir])
    again = FakeEmbedder()
    report = Ingestor(store, again, 500, cache=cache).ingest([seeds_dir], rebuild=True)
    assert again.document_calls == 0
    assert report.passages_embedded > 0 and report.cached == len(distinct_texts(store))
    assert_vectors_match_texts(store.load(), again)


def test_cache_is_keyed_by_model_id(store: Store, tmp_path: Path, cache: EmbeddingCache, seeds_dir: Path) -> None:
    Ingestor(store, FakeEmbedder(), 500, cache=cache).ingest([seeds_dir])
    other = FakeEmbedder(model_id="fake:other-64")
    report = Ingestor(Store(tmp_path / "other-index"), other, 500, cache=cache).ingest([seeds_dir])
    assert report.cached == 0
    assert set(other.documents) == distinct_texts(Store(tmp_path / "other-index"))


def test_vectors_of_another_dimension_are_not_reused(cache: EmbeddingCache) -> None:
    cache.put("m", ["a", "b"], np.ones((2, 4), np.float32))
    assert set(cache.get("m", ["a", "b", "c"], 4)) == {"a", "b"}
    assert cache.get("m", ["a"], 8) == {}
    assert cache.get("other", ["a"], 4) == {}


def test_each_distinct_text_is_embedded_once(store: Store, embedder: FakeEmbedder, seeds_dir: Path) -> None:
    report = Ingestor(store, embedder, 500).ingest([seeds_dir])
    assert len(embedder.documents) == len(set(embedder.documents)) == len(distinct_texts(store))
    assert len(embedder.documents) <= report.passages_embedded + report.sentences_embedded


def test_texts_are_embedded_shortest_first(store: Store, embedder: FakeEmbedder, seeds_dir: Path) -> None:
    """Two passes (passages, then sentences that are not also passages), each in one length order,
    so batches pad little."""
    Ingestor(store, embedder, 500).ingest([seeds_dir])
    passages = {p.text for p in store.load().passages}
    first, second = embedder.documents[:len(passages)], embedder.documents[len(passages):]
    assert set(first) == passages and not passages & set(second)
    for texts in (first, second):
        assert [len(t) for t in texts] == sorted(len(t) for t in texts)


def test_progress_starts_at_the_cached_texts(store: Store, cache: EmbeddingCache, seeds_dir: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        Ingestor(store, InterruptingEmbedder(interrupt_on=2), 500, cache=cache).ingest([seeds_dir])
    seen: list[tuple[int, int]] = []
    Ingestor(store, FakeEmbedder(), 500, progress=lambda d, t: seen.append((d, t)), cache=cache).ingest([seeds_dir])
    assert seen[0] == (32, seen[0][1])
    assert seen[-1][0] == seen[-1][1] == len(distinct_texts(store))


def test_corrupt_cache_is_moved_aside_and_the_index_kept(store: Store, tmp_path: Path, seeds_dir: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cache" / "embeddings.sqlite"
    first = EmbeddingCache(path)
    Ingestor(store, FakeEmbedder(), 500, cache=first).ingest([seeds_dir])
    # Closed before the damage: a WAL connection the garbage collector closes later checkpoints its
    # pages back over the garbage and repairs the file (what made this test fail now and then).
    first.close()
    before = store.current_dir()
    path.write_bytes(b"this is not a database" * 100)
    for f in path.parent.glob("embeddings.sqlite-*"):
        f.unlink()
    fresh = FakeEmbedder()
    report = Ingestor(store, fresh, 500, cache=EmbeddingCache(path)).ingest([seeds_dir], rebuild=True)
    assert "embedding cache" in capsys.readouterr().err
    assert list(path.parent.glob("embeddings.sqlite.corrupt-*")), "the unreadable file is kept for inspection"
    assert report.cached == 0 and sorted(report.added) == SEED_IDS
    assert store.current_dir() != before
    assert_vectors_match_texts(store.load(), fresh)
    assert EmbeddingCache(path).get(fresh.model_id, fresh.documents[:3], fresh.dimension), "the new cache is filled"
