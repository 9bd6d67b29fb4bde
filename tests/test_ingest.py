"""Incremental ingest: only new or changed files are embedded; removed and broken files are handled."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_IDS, STORED_ATOL
from fakes import FakeEmbedder

from rag.chunk import chunk_document
from rag.errors import InputError, RagError
from rag.ingest import Ingestor, IngestReport
from rag.parse import parse_file
from rag.store import Snapshot, Store


def seed_id(prefix: str) -> str:
    return next(i for i in SEED_IDS if i.startswith(prefix))


def assert_vectors_match_texts(snap: Snapshot, embedder: FakeEmbedder) -> None:
    """Every stored vector is the embedding of the text it is stored for (ids stayed aligned)."""
    pvecs = snap.passage_index.vectors(np.arange(len(snap.passages), dtype=np.int64))
    for p, vec in zip(snap.passages, pvecs, strict=True):
        np.testing.assert_allclose(vec, embedder.vector(p.text), atol=STORED_ATOL, err_msg=p.text[:60])
    flat = [s for p in snap.passages for s in p.sentences]
    assert [sid for sids in snap.sentence_ids for sid in sids] == list(range(len(flat)))
    for sid, s in enumerate(flat):
        np.testing.assert_allclose(snap.sentence_vectors[sid], embedder.vector(s.text), atol=STORED_ATOL,
                                   err_msg=s.text)
    assert [p.passage_id for p in snap.passages] == list(range(len(snap.passages)))


@pytest.fixture
def ingestor(store: Store, embedder: FakeEmbedder) -> Ingestor:
    return Ingestor(store, embedder, 500)


def test_first_ingest(ingestor: Ingestor, store: Store, embedder: FakeEmbedder, seeds_dir: Path) -> None:
    report = ingestor.ingest([seeds_dir])
    assert sorted(report.added) == SEED_IDS
    assert report.updated == report.unchanged == report.removed == report.failed == []
    snap = store.load()
    assert report.passages_embedded == len(snap.passages) > 0
    assert report.sentences_embedded == len(snap.sentence_vectors) > report.passages_embedded
    assert embedder.query_calls == 0 and embedder.document_calls >= 1
    flat_texts = [p.text for p in snap.passages] + [s.text for p in snap.passages for s in p.sentences]
    assert sorted(embedder.documents) == sorted(set(flat_texts)), "each distinct text is embedded once"
    assert sorted(snap.documents) == SEED_IDS
    assert_vectors_match_texts(snap, embedder)
    assert "5 added" in report.summary() and "embedded" in report.summary()


def test_second_ingest_embeds_nothing(ingestor: Ingestor, store: Store, embedder: FakeEmbedder,
                                      seeds_dir: Path) -> None:
    ingestor.ingest([seeds_dir])
    gen = store.current_dir()
    before = store.load()
    embedded = len(embedder.documents)
    report = ingestor.ingest([seeds_dir])
    assert sorted(report.unchanged) == SEED_IDS
    assert report.added == report.updated == report.removed == []
    assert report.passages_embedded == report.sentences_embedded == 0
    assert len(embedder.documents) == embedded
    assert store.current_dir() == gen, "an unchanged corpus must not write a new generation"
    assert store.load().passages == before.passages


def test_changed_file_is_reembedded_alone(ingestor: Ingestor, store: Store, embedder: FakeEmbedder,
                                          seeds_dir: Path) -> None:
    ingestor.ingest([seeds_dir])
    before = store.load()
    path = next(seeds_dir.glob("002_*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + "\n\nDer Kreml bestätigte das Treffen am Abend.\n",
                    encoding="utf-8")
    first = len(embedder.documents)
    report = ingestor.ingest([seeds_dir])
    changed = seed_id("002")
    assert report.updated == [changed]
    assert sorted(report.unchanged) == [i for i in SEED_IDS if i != changed]
    new_texts = embedder.documents[first:]
    doc = parse_file(path)
    passages = chunk_document(doc)
    assert report.passages_embedded == len(passages)
    assert report.sentences_embedded == sum(len(p.sentences) for p in passages)
    assert sorted(new_texts) == sorted({p.text for p in passages} | {s.text for p in passages for s in p.sentences})
    assert all(t in doc.text for t in new_texts)
    snap = store.load()
    assert "Der Kreml bestätigte das Treffen am Abend." in snap.passages_of(changed)[-1].text
    for other in SEED_IDS:
        if other != changed:
            assert [p.text for p in snap.passages_of(other)] == [p.text for p in before.passages_of(other)]
    assert_vectors_match_texts(snap, embedder)


def test_removed_file_is_dropped(ingestor: Ingestor, store: Store, embedder: FakeEmbedder, seeds_dir: Path) -> None:
    ingestor.ingest([seeds_dir])
    next(seeds_dir.glob("004_*.txt")).unlink()
    first = len(embedder.documents)
    report = ingestor.ingest([seeds_dir])
    assert report.removed == [seed_id("004")]
    assert len(report.unchanged) == 4 and report.passages_embedded == 0
    assert len(embedder.documents) == first
    snap = store.load()
    assert sorted(snap.documents) == [i for i in SEED_IDS if not i.startswith("004")]
    assert not snap.passages_of(seed_id("004"))
    assert snap.manifest.documents == 4
    assert_vectors_match_texts(snap, embedder)


def test_broken_file_is_reported_and_the_rest_indexed(ingestor: Ingestor, store: Store, seeds_dir: Path) -> None:
    broken = seeds_dir / "kaputt.txt"
    broken.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (seeds_dir / "leer.md").write_text("")
    report = ingestor.ingest([seeds_dir])
    failed = dict(report.failed)
    assert set(failed) == {str(broken), str(seeds_dir / "leer.md")}
    assert "not a text file" in failed[str(broken)]
    assert sorted(report.added) == SEED_IDS
    assert sorted(store.load().documents) == SEED_IDS
    assert "2 failed" in report.summary()


def test_file_broken_after_ingest_keeps_its_old_version(ingestor: Ingestor, store: Store, seeds_dir: Path) -> None:
    ingestor.ingest([seeds_dir])
    path = next(seeds_dir.glob("003_*.txt"))
    path.write_bytes(b"\x00garbage")
    report = ingestor.ingest([seeds_dir])
    assert [p for p, _ in report.failed] == [str(path)]
    assert report.removed == []
    assert seed_id("003") in store.load().documents


def test_remove_by_id(ingestor: Ingestor, store: Store, embedder: FakeEmbedder, seeds_dir: Path) -> None:
    ingestor.ingest([seeds_dir])
    first = len(embedder.documents)
    gone = seed_id("001")
    report = ingestor.ingest([], remove=[gone])
    assert report.removed == [gone] and report.passages_embedded == 0
    assert len(embedder.documents) == first
    snap = store.load()
    assert sorted(snap.documents) == [i for i in SEED_IDS if i != gone]
    assert_vectors_match_texts(snap, embedder)


def test_ingest_a_single_new_file_keeps_the_others(ingestor: Ingestor, store: Store, seeds_dir: Path,
                                                   tmp_path: Path) -> None:
    ingestor.ingest([seeds_dir])
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "neu.md").write_text("# Neuer Artikel\n\nPutin besuchte Minsk. Es war ein kurzer Besuch.\n")
    report = ingestor.ingest([extra])
    assert report.added == ["neu"] and report.removed == []
    assert sorted(store.load().documents) == sorted([*SEED_IDS, "neu"])


def test_changed_chunk_size_reembeds_everything(store: Store, embedder: FakeEmbedder, seeds_dir: Path) -> None:
    Ingestor(store, embedder, 500).ingest([seeds_dir])
    report = Ingestor(store, embedder, 200).ingest([seeds_dir])
    assert sorted(report.updated) == SEED_IDS and report.unchanged == []
    snap = store.load()
    assert snap.manifest.chunk_chars == 200
    assert report.passages_embedded == len(snap.passages)
    assert_vectors_match_texts(snap, embedder)


def test_index_from_another_embedder_is_refused_or_reembedded(store: Store, embedder: FakeEmbedder, seeds_dir: Path,
                                                             tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "eigen.txt").write_text("date 2021-03\nEigener Artikel\n\nMINSK (dpa) - Ein eigener Text über Minsk.\n")
    Ingestor(store, embedder, 500).ingest([seeds_dir, extra])
    newer = FakeEmbedder("fake:newer-64")
    with pytest.raises(RagError, match="--reembed"):
        Ingestor(store, newer, 500).ingest([seeds_dir])
    assert store.load().manifest.embedder == embedder.model_id, "a refused ingest leaves the index as it was"
    report = Ingestor(store, newer, 500).ingest([seeds_dir], reembed=True)
    snap = store.load()
    assert snap.manifest.embedder == "fake:newer-64"
    assert "eigen" in snap.documents, "articles ingested from elsewhere are kept and embedded again"
    assert sorted(report.updated) == SEED_IDS and report.passages_embedded == len(snap.passages)
    assert_vectors_match_texts(snap, newer)


def test_rebuild_reembeds_everything(ingestor: Ingestor, store: Store, seeds_dir: Path) -> None:
    ingestor.ingest([seeds_dir])
    report = ingestor.ingest([seeds_dir], rebuild=True)
    assert sorted(report.added) == SEED_IDS
    assert report.passages_embedded == len(store.load().passages)


def test_duplicate_stems_get_distinct_ids_and_are_reported(ingestor: Ingestor, seeds_dir: Path,
                                                           tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    name = next(seeds_dir.glob("001_*.txt")).name
    (other / name).write_text("date 2020-09 Ein anderer Text. Mit zwei Sätzen.\n\nUnd einem Absatz.")
    report = ingestor.ingest([seeds_dir, other])
    assert report.failed == [] and len(report.added) == 6 and seed_id("001") in report.added
    assert len(report.collisions) == 1 and report.collisions[0].startswith(f"2 files named {name}: ids ")


def test_nothing_to_ingest_is_an_input_error(ingestor: Ingestor, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .txt"):
        ingestor.ingest([empty])


def test_progress_is_reported(store: Store, embedder: FakeEmbedder, seeds_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    Ingestor(store, embedder, 500, progress=lambda done, total: seen.append((done, total))).ingest([seeds_dir])
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_report_summary_without_work() -> None:
    assert IngestReport().summary().startswith("ingest: 0 added, 0 updated, 0 unchanged, 0 removed")


class PreparingEmbedder(FakeEmbedder):
    """An embedder whose ``warm_up`` takes a while, as the int8 export does on a fresh machine."""

    def __init__(self, prepare_s: float) -> None:
        super().__init__()
        self.prepare_s = prepare_s
        self.warm_ups = 0
        self.embedded_before_warm_up = 0

    def warm_up(self) -> None:
        self.embedded_before_warm_up = self.document_calls
        self.warm_ups += 1
        time.sleep(self.prepare_s)


def test_the_embedders_preparation_is_reported_apart_from_its_rate(store: Store, seeds_dir: Path) -> None:
    """The first ingest on a new machine read "0.3 passages/s": the model's export was counted as embedding."""
    embedder = PreparingEmbedder(0.6)
    report = Ingestor(store, embedder, 500).ingest([seeds_dir])
    assert embedder.warm_ups == 1 and embedder.embedded_before_warm_up == 0
    assert report.prepare_seconds >= 0.6
    assert report.embedding_seconds == pytest.approx(report.seconds - report.prepare_seconds)
    rate = report.passages_embedded / report.embedding_seconds
    summary = report.summary()
    assert f"in {report.embedding_seconds:.1f}s ({rate:.1f} passages/s)" in summary
    assert summary.endswith(f"after {report.prepare_seconds:.1f}s preparing the embedder")


def test_no_preparation_is_reported_for_an_embedder_without_warm_up(ingestor: Ingestor, seeds_dir: Path) -> None:
    report = ingestor.ingest([seeds_dir])
    assert report.prepare_seconds == 0.0 and "preparing" not in report.summary()


def test_ingest_documents_makes_the_index_hold_exactly_those(store: Store, embedder: FakeEmbedder,
                                                              seeds_dir: Path) -> None:
    docs = [parse_file(p) for p in sorted(seeds_dir.glob("*.txt"))]
    ingestor = Ingestor(store, embedder, 500)
    assert sorted(ingestor.ingest_documents(docs).added) == SEED_IDS
    again = ingestor.ingest_documents(docs)
    assert sorted(again.unchanged) == SEED_IDS and again.passages_embedded == 0
    fewer = ingestor.ingest_documents(docs[:2])
    assert sorted(fewer.removed) == SEED_IDS[2:] and fewer.passages_embedded == 0
    snap = store.load()
    assert sorted(snap.documents) == SEED_IDS[:2]
    assert_vectors_match_texts(snap, embedder)


def test_index_from_another_chunker_version_is_rechunked(ingestor: Ingestor, store: Store, seeds_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ingestor.ingest([seeds_dir])
    monkeypatch.setattr("rag.ingest.CHUNKER_VERSION", "older")
    report = ingestor.ingest([seeds_dir])
    assert report.passages_embedded == store.load().manifest.passages > 0
    assert store.load().manifest.chunker == "older"


def test_the_path_resolver_for_many_articles_resolves_as_path_resolve(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.ingest import _resolve, _Resolver

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text("x")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "b.txt").symlink_to(tmp_path / "real" / "a.txt")
    monkeypatch.chdir(tmp_path)
    resolve = _Resolver()
    for path in ["real/a.txt", "linked/a.txt", "real/b.txt", "linked/b.txt", "real/missing.txt", "gone/x.txt",
                 "real/../linked/a.txt", str(tmp_path / "linked" / "b.txt"), "a.txt", ".", "real/..", "/"]:
        assert resolve(path) == str(_resolve(path)), path
        assert resolve(path) == str(_resolve(path)), f"{path}, cached"
