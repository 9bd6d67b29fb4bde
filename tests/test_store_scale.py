"""Incremental updates of the segmented store: one article in or out writes that article and a manifest,
rankings equal a fresh build's, a failed write changes nothing, compact vectors keep exact search's recall."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from rag import compaction, lexical, segment
from rag.bench.synthetic import pool_from_snapshots, synthetic_documents
from rag.chunk import chunk_document
from rag.cli import main
from rag.errors import IndexError_
from rag.ingest import Ingestor
from rag.manifest import CHECK_BYTES
from rag.retrieve import Retriever
from rag.rowfile import RowFile
from rag.store import SEGMENTS, Batch, Manifest, Snapshot, Store
from rag.textnorm import tokens
from rag.types import Document

Tree = dict[str, tuple[int, int, int]]


def embedder() -> FakeEmbedder:
    """The fake at the real embedder's 768 dimensions, so vectors weigh what they weigh in a real index."""
    return FakeEmbedder(dimension=768)


def tree(root: Path) -> Tree:
    """Every file under ``root``: (inode, size, mtime in ns), to tell written files from untouched ones."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            st = os.stat(Path(dirpath) / name)
            out[str(Path(dirpath, name).relative_to(root))] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def written(before: Tree, after: Tree) -> dict[str, int]:
    """Files new or changed between two trees (the writer lock's file aside), with their sizes."""
    return {path: info[1] for path, info in after.items() if before.get(path) != info and path != "LOCK"}


def index_bytes(root: Path) -> int:
    return sum(size for _, size, _ in tree(root).values())


@pytest.fixture
def docs(snapshot: Snapshot) -> list[Document]:
    return synthetic_documents(pool_from_snapshots([snapshot]), 300, seed=9)


@pytest.fixture
def built(tmp_path: Path, docs: list[Document]) -> Store:
    store = Store(tmp_path / "index")
    Ingestor(store, embedder()).ingest_documents(docs[:250])
    return store


def key(snap: Snapshot, pid: int) -> tuple[str, int]:
    p = snap.passages[pid]
    return p.doc_id, p.ordinal


def test_adding_one_article_writes_that_article_not_the_index(built: Store, docs: list[Document]) -> None:
    ingestor = Ingestor(built, embedder())
    for n in range(250, 256):
        before, size = tree(built.root), index_bytes(built.root)
        report = ingestor.ingest_documents(docs[:n + 1])
        assert report.added == [docs[n].doc_id] and report.passages_embedded <= 2
        new = written(before, tree(built.root))
        assert "CURRENT" in new and sum(p.endswith("manifest.json") for p in new) == 1
        assert len(new) <= 2 + 2 * len(segment.FILES), f"O(1) files: {sorted(new)}"
        # at this toy size the new segment's empty SQLite pages (about 32 KB) weigh most; see the report's figures
        assert sum(new.values()) < size / 30, f"{sum(new.values())} bytes written for one article, index {size}"
    snap = built.load()
    assert sorted(snap.documents) == sorted(d.doc_id for d in docs[:256])
    assert len(snap.segments) < 6, "single additions merge among themselves"


def test_removing_one_article_writes_only_a_manifest(built: Store, docs: list[Document]) -> None:
    gone = docs[17].doc_id
    before = built.load()
    gone_texts = {p.text for p in before.passages_of(gone)}
    files = tree(built.root)
    report = Ingestor(built, embedder()).ingest([], remove=[gone])
    assert report.removed == [gone]
    new = written(files, tree(built.root))
    assert sorted(p.split("/")[-1] for p in new) == ["CURRENT", "manifest.json"]
    assert sum(new.values()) < 4096
    snap = built.load()
    assert gone not in snap.documents and len(snap.documents) == 249
    assert not snap.passages_of(gone) and len(snap.passages) == len(before.passages) - len(gone_texts)
    retriever = Retriever(snap, embedder())
    for text in gone_texts:
        hits, _, _ = retriever.search(text, 10)
        assert all(h.passage.doc_id != gone for h in hits)
        assert all(snap.passages[i].doc_id != gone for i in retriever.lexical_ranking(text, 50))


def test_ranking_after_adds_and_removes_equals_a_fresh_build(built: Store, docs: list[Document],
                                                            tmp_path: Path) -> None:
    ingestor = Ingestor(built, embedder())
    final = [*docs[10:250]]
    final[3] = Document(**{**final[3].__dict__, "text": final[3].text + " Nachtrag: Minsk bestätigte.",
                           "content_hash": "edited"})
    ingestor.ingest_documents([*docs[:250], *docs[250:270]])
    for d in docs[250:270]:
        ingestor.ingest([], remove=[d.doc_id])
    report = ingestor.ingest_documents(final)
    assert report.updated == [final[3].doc_id] and len(report.removed) == 10
    fresh = Store(tmp_path / "fresh")
    Ingestor(fresh, embedder()).ingest_documents(final)
    a, b = built.load(), fresh.load()
    assert len(a.segments) > 1 and len(b.segments) == 1
    assert {key(a, i) for i in range(len(a.passages))} == {key(b, i) for i in range(len(b.passages))}
    emb = embedder()
    queries = [" ".join(d.text.split()[2:9]) for d in final[::11]] + ["Lukaschenko Putin", "Minsk bestätigte"]
    for q in queries:  # every score retrieval ranks by, per passage: rankings then differ only in ties' order
        qvec = emb.embed_queries([q])[0]
        for sa, sb in ((a.lexical.scores(tokens(q)), b.lexical.scores(tokens(q))),
                       (passage_scores(a, qvec), passage_scores(b, qvec)),
                       (a.sentence_vectors @ qvec, b.sentence_vectors @ qvec)):
            assert by_key(a, sa) == pytest.approx(by_key(b, sb), rel=1e-5, abs=1e-6), q


def passage_scores(snap: Snapshot, qvec: np.ndarray) -> np.ndarray:
    scores, ids = snap.passage_index.search(qvec[None, :], len(snap.passages))
    out = np.zeros(len(snap.passages), np.float32)
    out[ids[0]] = scores[0]
    return out


def by_key(snap: Snapshot, scores: np.ndarray) -> dict[tuple[str, int, int], float]:
    """Passage (or sentence) scores keyed by document, passage ordinal (and sentence number)."""
    if len(scores) == len(snap.passages):
        return {(*key(snap, i), -1): float(s) for i, s in enumerate(scores)}
    owners = snap.sentence_ids.owners()
    firsts = snap.sentence_ids.firsts
    return {(*key(snap, int(owners[i])), i - int(firsts[owners[i]])): float(s) for i, s in enumerate(scores)}


def assert_unchanged(store: Store, before: Snapshot, files: Tree) -> None:
    after = store.load()
    assert list(after.documents) == list(before.documents)
    assert after.passages == before.passages
    assert {p: i for p, i in tree(store.root).items() if p != "LOCK"} == {p: i for p, i in files.items() if p != "LOCK"}


def test_a_failure_while_writing_a_segment_keeps_the_previous_generation(
        built: Store, docs: list[Document], monkeypatch: pytest.MonkeyPatch) -> None:
    before, files = built.load(), tree(built.root)

    def broken(con: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lexical, "finish", broken)
    with pytest.raises(OSError, match="No space"):
        Ingestor(built, embedder()).ingest_documents(docs[:260])
    monkeypatch.undo()
    assert_unchanged(built, before, files)


def test_a_failure_while_merging_keeps_the_previous_generation(
        built: Store, docs: list[Document], monkeypatch: pytest.MonkeyPatch) -> None:
    before, files = built.load(), tree(built.root)
    real_write = segment.write
    calls = []

    def merge_fails(folder: Path, streams: segment.Streams, dimension: int) -> object:
        calls.append(folder)
        if len(calls) == 2:  # the new segment went through; the merge that follows fails
            raise RuntimeError("disk gone")
        return real_write(folder, streams, dimension)

    monkeypatch.setattr(compaction, "plan", lambda sizes: [compaction.Group(tuple(range(len(sizes))), True)])
    monkeypatch.setattr(segment, "write", merge_fails)
    with pytest.raises(RuntimeError, match="disk gone"):
        Ingestor(built, embedder()).ingest_documents(docs[:251])
    monkeypatch.undo()
    assert len(calls) == 2
    assert_unchanged(built, before, files)
    assert Ingestor(built, embedder()).ingest_documents(docs[:251]).added == [docs[250].doc_id]


def test_many_single_additions_stay_few_segments_and_equal_a_fresh_build(
        built: Store, docs: list[Document], tmp_path: Path) -> None:
    ingestor = Ingestor(built, embedder())
    for n in range(251, 300):
        ingestor.ingest_documents(docs[:n])
    snap = built.load()
    assert len(snap.segments) <= 6
    fresh = Store(tmp_path / "fresh")
    Ingestor(fresh, embedder()).ingest_documents(docs[:299])
    other = fresh.load()
    assert sorted(snap.documents) == sorted(other.documents)
    assert sorted((p.doc_id, p.ordinal, p.text) for p in snap.passages) == \
           sorted((p.doc_id, p.ordinal, p.text) for p in other.passages)
    listed = {seg.ref.name for seg in snap.segments}
    assert {p.name for p in (built.root / SEGMENTS).iterdir()} == listed, "merged segments were collected"


@pytest.mark.parametrize(("sizes", "want"), [
    ([(100, 100), (5, 5), (5, 5), (5, 5)], [((0,), False), ((1,), False), ((2,), False), ((3,), False)]),
    ([(100, 100), (5, 5), (5, 5), (5, 5), (6, 6)], [((0,), False), ((1, 2, 3, 4), True)]),
    ([(1000, 1000), (20, 20), (20, 20), (20, 20), (5, 5), (5, 5), (5, 5), (6, 6)],
     [((0,), False), ((1, 2, 3, 4, 5, 6, 7), True)]),
    ([(100, 100), (0, 10), (40, 100)], [((0,), False), ((2,), True)]),
])
def test_compaction_plan(sizes: list[tuple[int, int]], want: list[tuple[tuple[int, ...], bool]]) -> None:
    got = compaction.plan([compaction.Size(live, rows) for live, rows in sizes])
    assert [(g.members, g.rewrite) for g in got] == want


# ---------------------------------------------------------------- compact vectors


def clustered(rng: np.random.Generator, n: int, d: int, centres: np.ndarray) -> np.ndarray:
    x = centres[rng.integers(0, len(centres), n)] + 0.15 * rng.standard_normal((n, d)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def vector_batch(docs: Sequence[Document], rng: np.random.Generator, centres: np.ndarray) -> Batch:
    chunks = tuple(tuple(chunk_document(d, 500)) for d in docs)
    n_p = sum(len(c) for c in chunks)
    n_s = sum(len(p.sentences) for c in chunks for p in c)
    d = centres.shape[1]
    return Batch(tuple(docs), chunks, clustered(rng, n_p, d, centres), clustered(rng, n_s, d, centres))


def test_compact_vectors_keep_exact_search_recall(docs: list[Document], tmp_path: Path) -> None:
    """float16 segments, several of them, articles removed: recall@10 against exact float32 search >= 0.99."""
    rng = np.random.default_rng(4)
    d = 96
    centres = rng.standard_normal((30, d)).astype(np.float32)
    store = Store(tmp_path / "index")
    manifest = Manifest(embedder="test", dimension=d, chunk_chars=500, documents=0, passages=0, sentences=0,
                        created=0.0, versions={})
    batches = [vector_batch(docs[a:b], rng, centres) for a, b in ((0, 150), (150, 260), (260, 300))]
    keys = []
    for batch in batches:
        store.commit(manifest, batch)
        keys += [(doc.doc_id, p.ordinal) for doc, chunks in zip(batch.documents, batch.passages, strict=True)
                 for p in chunks]
    removed = {docs[i].doc_id for i in range(0, 300, 9)}
    store.commit(manifest, vector_batch([], rng, centres), remove=removed)
    flat_p = dict(zip(keys, np.concatenate([b.passage_vectors for b in batches]), strict=True))
    snap = store.load()
    assert len(snap.segments) == 3 and snap.passage_index.kind == "flat"
    assert all(seg.ref.removed for seg in snap.segments)
    live = [key(snap, i) for i in range(len(snap.passages))]
    assert not {k[0] for k in live} & removed
    matrix = np.stack([flat_p[k] for k in live])
    queries = clustered(rng, 200, d, centres)
    _, approx = snap.passage_index.search(queries, 10)
    exact = np.argsort(-(queries @ matrix.T), axis=1, kind="stable")[:, :10]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.99
    np.testing.assert_allclose(snap.passage_index.vectors(np.arange(len(live))), matrix, atol=1e-3)
    sentences = {}
    for batch in batches:
        rows = iter(batch.sentence_vectors)
        for doc, chunks in zip(batch.documents, batch.passages, strict=True):
            for p in chunks:
                for i in range(len(p.sentences)):
                    sentences[(doc.doc_id, p.ordinal, i)] = next(rows)
    want = np.stack([sentences[(*key(snap, pid), i)] for pid in range(len(snap.passages))
                     for i in range(len(snap.sentence_ids[pid]))])
    np.testing.assert_allclose(np.asarray(snap.sentence_vectors), want, atol=1e-3)
    np.testing.assert_allclose(snap.sentence_vectors @ queries[0], want @ queries[0], atol=5e-3)
    assert isinstance(snap.segments[0].sentences, RowFile), "sentence rows are read when asked for, not loaded"


def test_a_load_checks_the_ends_and_verify_every_byte(tmp_path: Path, docs: list[Document],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    d = 512
    store = Store(tmp_path / "index")
    manifest = Manifest(embedder="test", dimension=d, chunk_chars=500, documents=0, passages=0, sentences=0,
                        created=0.0, versions={})
    store.commit(manifest, vector_batch(docs, rng, rng.standard_normal((5, d)).astype(np.float32)))
    assert store.verify() > 2 * CHECK_BYTES
    assert main(["verify", "--index", str(store.root), "--home", str(tmp_path / "home")]) == 0
    assert "index ok" in capsys.readouterr().out
    [seg] = json.loads((store.current_dir() / "manifest.json").read_text())["segments"]
    path = store.root / SEGMENTS / seg["name"] / "sentences.npy"
    assert path.stat().st_size > 3 * CHECK_BYTES
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 16] = bytes(range(16))
    path.write_bytes(bytes(data))
    store.load()  # the middle of a large file is not read at start (see FileCheck)
    with pytest.raises(IndexError_, match="checksum.*rag ingest --rebuild"):
        store.verify()
    assert main(["verify", "--index", str(store.root), "--home", str(tmp_path / "home")]) == 2
    assert "rag ingest --rebuild" in capsys.readouterr().err


def test_a_damaged_page_met_after_load_is_the_rebuild_error(tmp_path: Path, docs: list[Document]) -> None:
    """Damage in the middle of a large SQLite file passes the load's check of its ends; reading it
    is then the same one-line error as damage found at load, not a SQLite exception."""
    store = Store(tmp_path / "index")
    Ingestor(store, embedder()).ingest_documents([Document(**{**d.__dict__, "text": "\n\n".join([d.text] * 3)})
                                                  for d in docs])
    [seg] = json.loads((store.current_dir() / "manifest.json").read_text())["segments"]
    path = store.root / SEGMENTS / seg["name"] / "passages.sqlite"
    assert path.stat().st_size > 3 * CHECK_BYTES
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle:middle + 65536] = np.random.default_rng(0).bytes(65536)
    path.write_bytes(bytes(data))
    snap = store.load()
    with pytest.raises(IndexError_, match="corrupt.*rag ingest --rebuild"):
        list(snap.passages)
        [snap.documents[d].text for d in snap.documents]


def _format_1_index(root: Path) -> Path:
    """An index as versions before segments wrote it: one passages.sqlite per generation."""
    import sqlite3

    gen = root / "gen-00000000000000000001"
    gen.mkdir(parents=True)
    (gen / "manifest.json").write_text(json.dumps({
        "embedder": "fake:old", "dimension": 64, "chunk_chars": 500, "documents": 1, "passages": 1, "sentences": 2,
        "created": 0.0, "versions": {}, "format": 1, "chunker": "2", "files": {}}))
    con = sqlite3.connect(gen / "passages.sqlite")
    con.execute("CREATE TABLE documents (doc_id TEXT PRIMARY KEY, path TEXT, title TEXT, date TEXT, source TEXT, "
                "dateline TEXT, caption TEXT, body_start INTEGER, content_hash TEXT, text TEXT)")
    con.execute("INSERT INTO documents VALUES ('eigen', '/elsewhere/eigen.txt', 'Eigen', '2020-09', 'dpa', NULL, "
                "NULL, 0, 'h', 'Ein eigener Artikel über Minsk. Er hat zwei Sätze.')")
    con.commit()
    con.close()
    (root / "CURRENT").write_text(gen.name + "\n")
    return gen


def test_reembed_carries_an_index_of_the_format_before_segments_over(tmp_path: Path, seeds_dir: Path) -> None:
    """Format 1 kept one passages.sqlite per generation; ``--reembed`` reads its articles and writes them anew."""
    root = tmp_path / "index"
    gen = _format_1_index(root)
    store = Store(root)
    with pytest.raises(IndexError_, match="format 1.*--reembed"):
        store.load()
    report = Ingestor(store, embedder()).ingest([seeds_dir], reembed=True)
    snap = store.load()
    assert "eigen" in snap.documents and snap.documents["eigen"].source == "dpa"
    assert len(snap.documents) == 6 and len(report.added) == 5 and report.passages_embedded == len(snap.passages)
    assert not gen.exists(), "the old generation was collected"


def test_an_eval_index_in_the_format_before_segments_is_built_anew(tmp_path: Path, seeds_dir: Path) -> None:
    """The GNAD and XQuAD eval indexes are caches of given articles: one left by an older version is replaced."""
    from rag.parse import parse_file

    root = tmp_path / "index"
    gen = _format_1_index(root)
    store = Store(root)
    docs = [parse_file(f) for f in sorted(seeds_dir.glob("*.txt"))]
    report = Ingestor(store, embedder()).ingest_documents(docs)
    snap = store.load()
    assert sorted(snap.documents) == sorted(d.doc_id for d in docs) and "eigen" not in snap.documents
    assert len(report.added) == len(docs) and not gen.exists()
