"""The on-disk index: round trip, embedder checks, corruption, atomic generations."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from embeddings.index import FaissIndex
from rag.errors import IndexError_
from rag.factory import build_retriever
from rag.ingest import Ingestor
from rag.settings import Settings
from rag.store import CURRENT, FORMAT_VERSION, SEGMENTS, Snapshot, Store


def all_vectors(snap: Snapshot) -> np.ndarray:
    return snap.passage_index.vectors(np.arange(snap.passage_index.size, dtype=np.int64))


def assert_same(a: Snapshot, b: Snapshot) -> None:
    assert a.documents == b.documents
    assert a.passages == b.passages
    assert a.sentence_ids == b.sentence_ids
    np.testing.assert_array_equal(all_vectors(a), all_vectors(b))
    np.testing.assert_array_equal(np.asarray(a.sentence_vectors), np.asarray(b.sentence_vectors))
    assert a.manifest == b.manifest


def test_round_trip(snapshot: Snapshot, tmp_path: Path) -> None:
    store = Store(tmp_path / "copy")
    gen = store.write(snapshot)
    assert gen.name.startswith("gen-") and (store.root / CURRENT).read_text().strip() == gen.name
    loaded = store.load()
    assert_same(snapshot, loaded)
    assert len(loaded.documents) == 5 and len(loaded.passages) == snapshot.manifest.passages
    assert loaded.sentence_vectors.dtype == np.float32 and loaded.sentence_vectors.shape[1] == 64
    stored = np.load(segment_dir(store) / "sentences.npy", mmap_mode="r")
    assert stored.dtype == np.float16 and stored.shape == (len(loaded.sentence_vectors), 64), "kept as float16"


def test_manifest_describes_the_index(snapshot: Snapshot) -> None:
    m = snapshot.manifest
    assert (m.embedder, m.dimension, m.chunk_chars, m.format) == (
        "fake:hash-64", 64, Settings().chunk_chars, FORMAT_VERSION)
    assert (m.documents, m.passages, m.sentences) == (
        len(snapshot.documents), len(snapshot.passages), len(snapshot.sentence_vectors))
    assert "numpy" in m.versions


def test_documents_keep_their_metadata(snapshot: Snapshot) -> None:
    doc = next(d for d in snapshot.documents.values() if d.doc_id.startswith("000"))
    assert doc.source == "Reuters" and doc.date == "2020-08" and doc.caption and doc.caption.startswith("People")
    assert doc.text.startswith("People take part") and doc.content_hash


def test_only_one_generation_is_kept(ingested: Store, snapshot: Snapshot) -> None:
    ingested.write(snapshot)
    ingested.write(snapshot)
    gens = [p.name for p in ingested.root.iterdir() if p.is_dir() and p.name != SEGMENTS]
    assert gens == [ingested.current_dir().name]
    assert [p.name for p in (ingested.root / SEGMENTS).iterdir()] == [segment_dir(ingested).name]


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "nothing")
    assert not store.exists()
    with pytest.raises(IndexError_, match="rag ingest"):
        store.load()


def test_check_embedder_accepts_the_same_model(snapshot: Snapshot, ingested: Store) -> None:
    ingested.check_embedder(snapshot.manifest, "fake:hash-64", 64)


@pytest.mark.parametrize(("model_id", "dim"), [("fake:other", None), ("fake:other", 64), ("fake:hash-64", 32)])
def test_embedder_mismatch(snapshot: Snapshot, ingested: Store, model_id: str, dim: int | None) -> None:
    with pytest.raises(IndexError_) as exc:
        ingested.check_embedder(snapshot.manifest, model_id, dim)
    msg = str(exc.value)
    assert "fake:hash-64" in msg and model_id in msg and "rag ingest --reembed" in msg
    assert "\n" not in msg


def test_wrong_format_version(snapshot: Snapshot, ingested: Store) -> None:
    old = dataclasses.replace(snapshot.manifest, format=FORMAT_VERSION + 1)
    with pytest.raises(IndexError_, match="format"):
        ingested.check_embedder(old, "fake:hash-64")


def test_retriever_refuses_an_index_of_another_embedder(ingested: Store, settings: Settings) -> None:
    with pytest.raises(IndexError_, match="fake:hash-64.*fake:other"):
        build_retriever(settings, FakeEmbedder(model_id="fake:other"))


def test_ingest_refuses_an_index_of_another_embedder(ingested: Store, seeds_dir: Path) -> None:
    other = FakeEmbedder(model_id="fake:other")
    with pytest.raises(IndexError_, match="rebuild"):
        Ingestor(ingested, other).ingest([seeds_dir])
    assert other.calls == 0


# ---------------------------------------------------------------- corruption


def segment_dir(store: Store) -> Path:
    """The folder of the current generation's one segment (the seeds index has one)."""
    names = [s["name"] for s in json.loads((store.current_dir() / "manifest.json").read_text())["segments"]]
    assert len(names) == 1
    return store.root / SEGMENTS / names[0]


def corrupt_current(store: Store) -> None:
    (store.root / CURRENT).write_text("\x00\x01garbage")


def point_to_missing_generation(store: Store) -> None:
    (store.root / CURRENT).write_text("gen-00000000000000000001\n")


def delete_faiss(store: Store) -> None:
    (segment_dir(store) / "passages.faiss").unlink()


def garble_faiss(store: Store) -> None:
    (segment_dir(store) / "passages.faiss").write_bytes(b"not a faiss index" * 10)


def truncate_sqlite(store: Store) -> None:
    path = segment_dir(store) / "passages.sqlite"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def empty_sqlite(store: Store) -> None:
    (segment_dir(store) / "passages.sqlite").write_bytes(b"")


def delete_sentences(store: Store) -> None:
    (segment_dir(store) / "sentences.npy").unlink()


def truncate_sentences(store: Store) -> None:
    path = segment_dir(store) / "sentences.npy"
    path.write_bytes(path.read_bytes()[:200])


def truncate_manifest(store: Store) -> None:
    path = store.current_dir() / "manifest.json"
    path.write_text(path.read_text()[:40])


def manifest_missing_field(store: Store) -> None:
    path = store.current_dir() / "manifest.json"
    data = json.loads(path.read_text())
    del data["embedder"]
    path.write_text(json.dumps(data))


def drop_a_passage_row(store: Store) -> None:
    con = sqlite3.connect(segment_dir(store) / "passages.sqlite")
    con.execute("DELETE FROM passages WHERE passage_id = (SELECT MAX(passage_id) FROM passages)")
    con.commit()
    con.close()


def fewer_sentence_vectors(store: Store) -> None:
    path = segment_dir(store) / "sentences.npy"
    np.save(path, np.load(path)[:-3])


@pytest.mark.parametrize("damage", [
    corrupt_current, point_to_missing_generation, delete_faiss, garble_faiss, truncate_sqlite, empty_sqlite,
    delete_sentences, truncate_sentences, truncate_manifest, manifest_missing_field, drop_a_passage_row,
    fewer_sentence_vectors,
])
def test_corrupt_index_is_an_index_error(ingested: Store, damage: Callable[[Store], None]) -> None:
    damage(ingested)
    with pytest.raises(IndexError_) as exc:
        ingested.load()
    assert "rag ingest" in str(exc.value)


@pytest.mark.parametrize("content", ["[]", "null"])
def test_manifest_that_is_not_an_object(ingested: Store, content: str) -> None:
    (ingested.current_dir() / "manifest.json").write_text(content)
    with pytest.raises(IndexError_):
        ingested.load()


def test_sentence_vectors_cut_short_after_a_load_are_an_index_error(ingested: Store) -> None:
    """A load checks the file's size; rows read later from a file cut short since are the same one line."""
    snap = ingested.load()
    path = segment_dir(ingested) / "sentences.npy"
    last = len(snap.sentence_vectors) - 1
    os.truncate(path, path.stat().st_size // 2)
    assert snap.sentence_vectors[[0, 1]].shape == (2, 64)
    with pytest.raises(IndexError_) as exc:
        snap.sentence_vectors[[0, last]]
    assert "rag ingest --rebuild" in str(exc.value) and "\n" not in str(exc.value)


def test_rebuild_recovers_from_corruption(ingested: Store, seeds_dir: Path) -> None:
    corrupt_current(ingested)
    report = Ingestor(ingested, FakeEmbedder()).ingest([seeds_dir], rebuild=True)
    assert len(report.added) == 5
    assert len(ingested.load().documents) == 5


# ---------------------------------------------------------------- atomic writes


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".tmp") or p.name.endswith(".tmp"))


def test_failed_write_keeps_the_previous_generation(ingested: Store, seeds_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    before_gen = ingested.current_dir()
    before = ingested.load()
    other = Store(tmp_path / "other")
    Ingestor(other, FakeEmbedder()).ingest([next(seeds_dir.glob("002_*.txt"))])
    smaller = other.load()
    assert len(smaller.documents) == 1
    calls = []

    def broken_save(*args: object, **kwargs: object) -> None:
        calls.append(args[0])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array_header_1_0", broken_save)
    with pytest.raises(OSError, match="No space"):
        ingested.write(smaller)
    monkeypatch.undo()
    assert calls, "the write did not reach the sentence vectors"
    assert ingested.current_dir() == before_gen
    assert_same(before, ingested.load())
    assert leftovers(ingested.root) == []
    assert [p for p in ingested.root.iterdir() if p.is_dir() and p.name != SEGMENTS] == [before_gen]
    assert [p.name for p in (ingested.root / SEGMENTS).iterdir()] == [segment_dir(ingested).name]


def test_failed_write_of_the_first_generation_leaves_no_index(tmp_path: Path, snapshot: Snapshot,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "fresh")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("faiss exploded")

    monkeypatch.setattr(FaissIndex, "save", broken)
    with pytest.raises(RuntimeError):
        store.write(snapshot)
    assert not store.exists()
    assert [p.name for p in store.root.iterdir()] == ["LOCK"], "only the writer lock file is left"


def test_interrupted_ingest_keeps_the_previous_index(ingested: Store, seeds_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = ingested.load()
    # seeds_dir is a different folder than the one the shared index was built from: a full re-ingest
    (seeds_dir / "new.txt").write_text("Ein neuer Artikel über Minsk. Er hat zwei Sätze.", encoding="utf-8")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array_header_1_0", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Ingestor(ingested, FakeEmbedder()).ingest([seeds_dir])
    monkeypatch.undo()
    assert_same(before, ingested.load())
    assert leftovers(ingested.root) == []


def test_stale_temp_folders_are_collected(ingested: Store, snapshot: Snapshot) -> None:
    stale = ingested.root / ".tmp-gen-crashed"
    stale.mkdir()
    (stale / "passages.sqlite").write_bytes(b"half")
    old_gen = ingested.root / "gen-00000000000000000001"
    old_gen.mkdir()
    ingested.write(snapshot)
    assert not stale.exists() and not old_gen.exists()
    shutil.rmtree(ingested.current_dir())  # a vanished generation is reported, not crashed on
    with pytest.raises(IndexError_, match="corrupt"):
        ingested.load()


def test_a_loaded_hnsw_segment_searches_with_todays_ef_search(seeds_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An index written with another efSearch (96 before session 21) searches with ``EF_SEARCH`` once loaded."""
    from embeddings import index as index_mod
    from rag import segment

    real = FaissIndex.compact
    monkeypatch.setattr(segment.FaissIndex, "compact",
                        lambda n, dim: real(n, dim, flat_max=0, ef_search=40))
    store = Store(tmp_path / "idx")
    Ingestor(store, FakeEmbedder()).ingest([seeds_dir])
    monkeypatch.undo()
    seg = store.load().layout.segments[0]
    assert seg.index.kind == "hnsw"
    saved = FaissIndex.load(seg.folder / "passages.faiss")
    assert saved.ef_search == 40
    assert seg.index.ef_search == index_mod.EF_SEARCH != 40
