"""The archive bench (issue 22) on fakes and a 200-article archive: its figures exist and agree with the
index they describe, start-up is measured in a fresh process, updates are new generations. No timing asserts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources

from rag.bench import archive
from rag.bench.archive import ArchiveResult
from rag.bench.runner import Parts, Plan, run
from rag.bench.synthetic import PASSAGES_PER_DOC, pool_from_snapshots
from rag.cli import build_parser
from rag.store import Snapshot, Store

ARTICLES = 200


@pytest.fixture(scope="module")
def measured(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> tuple[ArchiveResult, Path]:
    workdir = tmp_path_factory.mktemp("archive")
    result = archive.synthetic_archive(pool_from_snapshots([snapshot]), ARTICLES, workdir, queries=12,
                                       log=lambda _: None)
    return result, workdir


def test_archive_figures_match_the_index(measured: tuple[ArchiveResult, Path]) -> None:
    r, workdir = measured
    assert (r.articles, r.passages) == (ARTICLES, ARTICLES * PASSAGES_PER_DOC)
    assert r.build is not None and (r.build.articles, r.build.passages, r.build.sentences) == (
        r.articles, r.passages, r.sentences)
    assert r.sentences >= 3 * r.passages and r.segments == 1 and r.index_kind == "flat" and r.ef_search is None
    assert 0 < r.build.generate_s < r.build.seconds and "not embedded" in r.build.note
    assert r.build.passages_per_s == pytest.approx(r.passages / r.build.seconds)
    assert r.bytes_per_article == pytest.approx(r.index_bytes / ARTICLES) and r.bytes_per_article > 1000
    for s in (r.cold, r.warm):
        assert s.seconds == pytest.approx(s.imports_s + s.load_s + s.retriever_s + s.first_search_s)
        assert min(s.imports_s, s.load_s, s.first_search_s) > 0 and s.process_s > s.seconds
        assert 0 < s.rss_after_imports_bytes <= s.peak_rss_bytes and s.rss_anon_bytes > 0
        assert s.search.n == s.dense.n == r.queries == 12
        assert s.cached_at_spawn is None or 0 <= s.cached_at_spawn <= 1
    assert r.cold.recall_at_10 is None and r.warm.recall_at_10 == r.warm.recall_held_out == 1.0, "flat is exact"
    assert r.warm.ef_sweep == ()
    assert r.app_rss_bytes > r.models_rss_bytes
    store = Store(workdir / "index")
    final = store.load().documents
    assert len(final) == ARTICLES and {"neu-1", "neu-2"} <= set(final)
    assert r.remove.target not in final and f"syn-{ARTICLES // 3:06d}" not in final


def test_adding_and_removing_one_article_each_make_one_new_generation(measured: tuple[ArchiveResult, Path]) -> None:
    r, _ = measured
    add, remove = r.add, r.remove
    assert (add.documents_before, add.documents_after) == (ARTICLES, ARTICLES + 1) and add.new_generation
    assert (remove.documents_before, remove.documents_after) == (ARTICLES + 1, ARTICLES) and remove.new_generation
    assert remove.generation_before == add.generation_after
    assert add.bytes_written > remove.bytes_written > 0, "an addition writes a segment, a removal a manifest"
    assert add.process_s is not None and remove.process_s is not None
    assert add.process_s > add.seconds and remove.process_s > remove.seconds


def test_startup_runs_in_a_fresh_process(measured: tuple[ArchiveResult, Path], monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """Loading in this process is made to fail: the start-up must still be measured, in a child."""
    _, workdir = measured

    def refuse(self: Store) -> Snapshot:
        raise AssertionError("start-up loaded the index in the measuring process")

    monkeypatch.setattr(Store, "load", refuse)
    queries = archive.Queries.load(workdir / "queries.npz")
    s = archive.startup(workdir / "index", workdir / "queries.npz", workdir, cold=False, recall=False)
    assert s.search.n == len(queries.texts) and s.imports_s > 0 and s.rss_after_imports_bytes > 0
    child = json.loads((workdir / "start-warm.json").read_text())
    assert child["entered"] > 0 and child["memory"]["VmHWM"] == s.peak_rss_bytes


def test_json_has_every_key_the_table_prints(seeds_index: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert archive.main(["--articles", "40", "--pool", str(seeds_index), "--queries", "5",
                         "--workdir", str(tmp_path / "work"), "--report", str(tmp_path / "report")]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "report" / "archive.json").read_text())
    assert archive.render(data) in printed, "the table is made from the JSON alone"
    assert (tmp_path / "report" / "archive.md").read_text().startswith("# rag archive bench")
    assert [t["name"] for t in data["targets"]] == [t.name for t in archive.targets(data["archives"][0])]
    assert all(t["ok"] is not None for t in data["targets"])
    assert not list((tmp_path / "work").iterdir()), "the archives are removed afterwards"


def test_an_existing_index_is_measured_through_a_copy_it_never_writes(seeds_index: Path, tmp_path: Path) -> None:
    def tree(root: Path) -> dict[str, tuple[int, int]]:
        return {str(Path(d, f).relative_to(root)): (os.stat(Path(d, f)).st_size, os.stat(Path(d, f)).st_mtime_ns)
                for d, _, names in os.walk(root) for f in names if f != "LOCK"}

    before = tree(seeds_index)
    r = archive.existing_archive(seeds_index, tmp_path, queries=6, log=lambda _: None)
    assert tree(seeds_index) == before
    docs = Store(seeds_index).read_manifest().documents
    assert r.articles == docs and r.build is None and r.index_bytes == archive.index_bytes(seeds_index)
    assert (r.add.documents_after, r.remove.documents_after) == (docs + 1, docs)
    assert r.warm.recall_at_10 == 1.0 and r.warm.recall_held_out is None and r.queries == 6


def test_archive_streams_number_articles_across_chunks(snapshot: Snapshot) -> None:
    pool = pool_from_snapshots([snapshot])
    docs, p_vecs, s_vecs = archive.archive_streams(pool, 23, "/archive", seed=4, chunk=7)
    articles = list(docs)
    assert [d.doc_id for d, _ in articles] == [f"syn-{i:06d}" for i in range(23)]
    assert all(d.path == f"/archive/{d.doc_id}.txt" and d.content_hash for d, _ in articles)
    passages = sum(len(p) for _, p in articles)
    assert passages == 23 * PASSAGES_PER_DOC == sum(len(b) for b in p_vecs)
    assert sum(len(s.sentences) for _, p in articles for s in p) == sum(len(b) for b in s_vecs)
    again, _, _ = archive.archive_streams(pool, 23, "/archive", seed=4, chunk=7)
    assert [d for d, _ in again] == [d for d, _ in articles]


def test_recall_counts_what_an_index_misses() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((64, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    class Wrong:
        size, kind = 64, "flat"

        def vectors(self, ids: np.ndarray) -> np.ndarray:
            return vectors[ids]

        def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            best = np.argsort(-(q @ vectors.T), axis=1)
            return np.zeros((len(q), k), np.float32), best[:, -k:]

    assert archive.recall_at_10(Wrong(), vectors[:4]) == 0.0  # type: ignore[arg-type]


def test_article_counts() -> None:
    assert archive.article_counts("100000") == (100_000,)
    assert archive.article_counts("0") == () and archive.article_counts("") == ()
    assert archive.article_counts("2000, 0,5000") == (2000, 5000)
    with pytest.raises(ValueError):
        archive.article_counts("5")
    with pytest.raises(ValueError):
        archive.article_counts("many")


def test_rag_bench_runs_the_archive_section(snapshot: Snapshot, make_assistant: object, embedder: FakeEmbedder,
                                            tmp_path: Path) -> None:
    from rag.bench.report import render, targets, write

    parts = Parts(make_embedder=lambda backend: embedder,
                  make_generator=lambda: ScriptedGenerator(echo_sources(1)),
                  make_assistant=lambda e, g: make_assistant(g),  # type: ignore[operator]
                  seeds_dir=Path(__file__).resolve().parents[1] / "seeds", pool_snapshots=[snapshot],
                  queries=["Was versprach Putin Lukaschenko?", "Tichanowskaja"], model_bytes=10**9)
    plan = Plan(sizes=(40,), sample=4, queries=2, runs=1, bandwidth_gb=0.01, archive=(30,))
    report = run(plan, parts, log=lambda _: None)
    [entry] = report["archive"]
    assert entry["articles"] == 30 and entry["startup_warm"]["recall_at_10"] == 1.0
    assert entry["models_rss_bytes"] == report["rss"]["after_models_bytes"]
    assert "archive synthetic 30" in render(report)
    assert any(t.name.startswith("archive 30:") for t in targets(report))
    data = json.loads(write(report, tmp_path).read_text())
    assert data["archive"][0]["add_one"]["new_generation"] is True
    args = build_parser().parse_args(["bench", "--archive", "2000,0", "--archive-index", "idx"])
    assert args.archive == "2000,0" and args.archive_index == Path("idx")
    assert build_parser().parse_args(["bench"]).archive == "0"


def test_queries_are_half_from_the_archive_half_held_out(snapshot: Snapshot) -> None:
    pool = pool_from_snapshots([snapshot])
    corpus, queries = archive.split_pool(pool, 10, seed=2)
    own, held = [t for t, h in zip(queries.texts, queries.held_out, strict=True) if not h], \
        [t for t, h in zip(queries.texts, queries.held_out, strict=True) if h]
    assert len(own) == len(held) == 5 and len(queries.vectors) == 10
    assert set(own) <= set(corpus.sentences) and not set(held) & set(corpus.sentences)
    assert len(corpus.sentences) == len(pool.sentences) - 5
    np.testing.assert_allclose(np.linalg.norm(queries.vectors, axis=1), 1.0, atol=1e-5)
