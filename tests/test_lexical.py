"""BM25 over the segments' FTS5 tables: by hand, on odd tokens, and against the in-memory BM25 it replaced."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from bm25_reference import BM25, ranking, reference
from fakes import FakeEmbedder

from rag.bench.synthetic import pool_from_snapshots, synthetic_documents
from rag.ingest import Ingestor
from rag.lexical import fts_row
from rag.retrieve import Retriever
from rag.store import Snapshot, Store
from rag.textnorm import tokens
from rag.types import Document, text_digest


def index_of(root: Path, texts: list[str], titles: list[str] | None = None) -> Snapshot:
    docs = [Document(doc_id=f"d{i:03d}", path="", text=t, title=(titles or [""] * len(texts))[i],
                     content_hash=text_digest(t)) for i, t in enumerate(texts)]
    store = Store(root)
    Ingestor(store, FakeEmbedder()).ingest_documents(docs)
    return store.load()


def test_bm25_score_by_hand(tmp_path: Path) -> None:
    snap = index_of(tmp_path / "i", ["alpha beta", "beta gamma gamma"])
    assert [p.text for p in snap.passages] == ["alpha beta", "beta gamma gamma"]
    got = snap.lexical.scores(["gamma"])
    # idf = ln(1 + (2 - 1 + .5) / (1 + .5)) = ln 2; tf = 2, |d| = 3, avg = 2.5
    want = math.log(2) * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2.5))
    assert got[0] == 0.0
    assert got[1] == pytest.approx(want, rel=1e-5)


def test_rare_terms_weigh_more_and_unknown_terms_score_zero(tmp_path: Path) -> None:
    lex = index_of(tmp_path / "i", ["putin minsk", "putin moskau", "putin sotschi"]).lexical
    s = lex.scores(["putin", "sochi"])
    assert int(np.argmax(s)) == 2 and s[0] == s[1] > 0
    assert not lex.scores(["unbekannt"]).any()
    assert not lex.scores([]).any()
    assert lex.known("putin") and not lex.known("unbekannt")


def test_an_empty_index_scores_nothing(tmp_path: Path) -> None:
    snap = index_of(tmp_path / "i", [])
    assert snap.lexical.scores(["x"]).shape == (0,)


def test_tokens_the_fts5_tokenizer_would_change_are_found(tmp_path: Path) -> None:
    """A number with a space, a letter NFKD turns into ASCII capitals, letters beyond ASCII, '_' and '^'."""
    odd = ["Es kostete 1234 567 Euro", "Das ℌℌ-Symbol", "Wałęsa und Yıldırım", "a_b und x^y"]
    snap = index_of(tmp_path / "i", odd)
    for i, text in enumerate(odd):
        for term in tokens(text):
            ids, tf = snap.lexical.postings(term)
            assert ids.tolist() == [i], (term, fts_row([term]))
    assert "1234 567" in tokens(odd[0]) and "HH" in tokens(odd[1])


def questions() -> list[str]:
    out = []
    for name in ("seeds_qa.jsonl", "gnad_qa.jsonl"):
        lines = resources.files("rag.data").joinpath(name).read_text(encoding="utf-8").splitlines()
        out += [json.loads(line)["question"] for line in lines if line.strip()]
    return out


def assert_ranks_as_the_reference(snap: Snapshot, bm25: BM25, queries: list[str]) -> float:
    """Same scores for every passage (so the same ranking, ties included); returns the top-10 overlap."""
    retriever = Retriever(snap, FakeEmbedder())
    overlap = []
    for q in queries:
        np.testing.assert_allclose(snap.lexical.scores(tokens(q)), bm25.scores(tokens(q)), rtol=1e-6, atol=1e-7)
        want = ranking(bm25, q, 10)
        got = retriever.lexical_ranking(q, 10)
        assert got == want, q
        overlap.append(len(set(got) & set(want)) / len(want) if want else 1.0)
        assert retriever.lexical_weight(q) == pytest.approx(
            retriever.lexical_scale * sum(t in bm25.postings for t in set(tokens(q))) / (len(set(tokens(q))) or 1))
    return float(np.mean(overlap))


def test_fts5_ranks_the_seeds_as_the_in_memory_bm25(snapshot: Snapshot) -> None:
    assert assert_ranks_as_the_reference(snapshot, reference(snapshot), questions()) == 1.0


def test_fts5_ranks_as_the_in_memory_bm25_across_segments_and_removals(snapshot: Snapshot, tmp_path: Path) -> None:
    """Several segments, articles removed and replaced: statistics span the segments and skip removed rows."""
    docs = synthetic_documents(pool_from_snapshots([snapshot]), 60, seed=5)
    store = Store(tmp_path / "index")
    ingestor = Ingestor(store, FakeEmbedder())
    ingestor.ingest_documents(docs[:40])
    ingestor.ingest_documents(docs[:50])
    ingestor.ingest_documents([*docs[5:50], *docs[55:]])
    snap = store.load()
    assert len(snap.segments) > 1 and any(seg.ref.removed for seg in snap.segments)
    queries = questions()[:40] + [" ".join(d.text.split()[:6]) for d in docs[::7]]
    assert assert_ranks_as_the_reference(snap, reference(snap), queries) == 1.0
