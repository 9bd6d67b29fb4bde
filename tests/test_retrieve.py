"""Reciprocal-rank fusion and the Retriever over the seeds index (fake embedder); BM25 is in test_lexical."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import STORED_ATOL
from fakes import FakeEmbedder

from rag.answer_kind import Preference
from rag.ingest import Ingestor
from rag.retrieve import Retriever, rrf
from rag.settings import Settings
from rag.store import Snapshot, Store
from rag.textnorm import tokens


def test_rrf_by_hand() -> None:
    fused = rrf([[10, 20, 30], [30, 10]], k=1)
    assert fused == pytest.approx({10: 1 / 2 + 1 / 3, 20: 1 / 3, 30: 1 / 4 + 1 / 2})
    assert sorted(fused, key=lambda i: -fused[i]) == [10, 30, 20]


def test_rrf_default_k_is_60() -> None:
    fused = rrf([[1, 2], [2]])
    assert fused[1] == pytest.approx(1 / 61)
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
    assert rrf([]) == {}


def test_weighted_rrf_by_hand() -> None:
    fused = rrf([[1, 2], [2]], k=1, weights=[1.0, 0.5])
    assert fused == pytest.approx({1: 1 / 2, 2: 1 / 3 + 0.5 / 2})


def test_lexical_weight_follows_the_known_vocabulary(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder, lexical_scale=0.5)
    assert retriever.lexical_weight("Lukaschenko Putin") == pytest.approx(0.5)
    assert retriever.lexical_weight("Lukashenko Quarkspeise") == pytest.approx(0.25)
    assert retriever.lexical_weight("Quarkspeise Zebrastreifen") == 0.0
    assert retriever.lexical_weight("") == 0.0


def test_bm25_ranks_the_80_1_passage_first(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    ranking = retriever.lexical_ranking("80.1 Prozent Lukaschenko", 10)
    assert "80,1" in snapshot.passages[ranking[0]].text
    with_number = {p.passage_id for p in snapshot.passages if "80,1" in p.text}
    assert len(with_number) == 2 and set(ranking[:2]) == with_number


def test_lexical_ranking_matches_transliterations(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    ranking = retriever.lexical_ranking("Sochi", 10)
    assert ranking and all("Sotschi" in snapshot.passages[i].text for i in ranking)
    assert retriever.lexical_ranking("Quarkspeise Zebrastreifen", 10) == []


@pytest.mark.parametrize("top_k", [1, 3, 6])
def test_search_lexical(snapshot: Snapshot, embedder: FakeEmbedder, top_k: int) -> None:
    retriever = Retriever(snapshot, embedder)
    before = embedder.query_calls
    hits, qvec, sims = retriever.search("Lukaschenko Putin Russland", top_k, mode="lexical")
    assert len(hits) == top_k
    assert embedder.query_calls == before, "lexical search must not embed the query"
    assert all(h.dense_rank is None and h.lexical_rank is not None for h in hits)
    assert [h.lexical_rank for h in hits] == list(range(top_k))
    assert sims is None and qvec.size == 0


@pytest.mark.parametrize("top_k", [1, 3, 6])
def test_search_dense(snapshot: Snapshot, embedder: FakeEmbedder, top_k: int) -> None:
    retriever = Retriever(snapshot, embedder)
    hits, qvec, sims = retriever.search("Lukaschenko Putin Russland", top_k, mode="dense")
    assert len(hits) == top_k
    assert embedder.query_calls == 1
    assert all(h.lexical_rank is None and h.dense_rank is not None for h in hits)
    assert qvec.shape == (64,) and sims is not None and sims.shape == (len(snapshot.sentence_vectors),)


@pytest.mark.parametrize("top_k", [1, 3, 6, 10])
def test_search_hybrid(snapshot: Snapshot, embedder: FakeEmbedder, top_k: int) -> None:
    retriever = Retriever(snapshot, embedder)
    hits, _, _ = retriever.search("Lukaschenko Putin Russland", top_k, mode="hybrid")
    assert len(hits) == top_k
    ids = [h.passage.passage_id for h in hits]
    assert len(set(ids)) == top_k
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert any(h.dense_rank is not None for h in hits) and any(h.lexical_rank is not None for h in hits)
    # a hybrid score holds at least its passage-vector rank, and at most three first places
    for h in hits:
        floor = 1 / (61 + h.dense_rank) if h.dense_rank is not None else 0.0
        assert floor - 1e-9 <= h.score <= 3 / 61 + 1e-9


def test_search_uses_a_given_query_vector(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    target = snapshot.passages[7]
    qvec = embedder.vector(target.text)
    hits, _, _ = retriever.search("irrelevant", 3, mode="dense", qvec=qvec)
    assert embedder.query_calls == 0
    assert hits[0].passage.passage_id == target.passage_id and hits[0].dense_rank == 0


def test_dense_search_finds_a_passage_by_its_own_words(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    target = next(p for p in snapshot.passages if "Fahrzeuge sollen Platz" in p.text)
    hits, _, _ = retriever.search(target.text, 1, mode="dense")
    assert hits[0].passage.passage_id == target.passage_id


def test_retrieve_numbers_evidence_from_the_hits(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    r = retriever.retrieve("Mit wie viel Prozent der Stimmen wurde Lukaschenko bestätigt?", top_k=8, max_sentences=6)
    assert 1 <= len(r.evidence) <= 6
    assert [e.n for e in r.evidence] == list(range(1, len(r.evidence) + 1))
    hit_ids = {h.passage.passage_id for h in r.hits}
    for e in r.evidence:
        assert e.passage.passage_id in hit_ids
        assert e.sentence in e.passage.sentences
        assert e.sentence_id in snapshot.sentence_ids[e.passage.passage_id]
        np.testing.assert_allclose(snapshot.sentence_vectors[e.sentence_id], embedder.vector(e.sentence.text),
                                   atol=STORED_ATOL)
    assert [e.score for e in r.evidence] == sorted((e.score for e in r.evidence), reverse=True)
    assert 0.0 < r.best_similarity <= 1.0 + 1e-6
    assert any("80,1" in e.sentence.text for e in r.evidence)


def test_preferred_sentences_gain_the_bonus_and_rise(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    query = "Lukaschenko Putin Sotschi"
    plain = retriever.retrieve(query, top_k=6, max_sentences=40).evidence
    last = plain[-1].sentence.text
    bonus = plain[0].score - plain[-1].score + 0.01
    boosted = retriever.retrieve(query, top_k=6, max_sentences=40,
                                 prefer=Preference(lambda t: t == last, bonus)).evidence
    assert boosted[0].sentence.text == last
    assert boosted[0].score == pytest.approx(plain[-1].score + bonus)
    rest = [e.sentence.text for e in boosted[1:]]
    assert rest and rest == [e.sentence.text for e in plain[:len(rest)]]
    unchanged = retriever.retrieve(query, top_k=6, max_sentences=40, prefer=Preference(lambda t: False, 5.0))
    assert [e.score for e in unchanged.evidence] == [e.score for e in plain]


def test_retrieve_respects_max_sentences(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    assert len(retriever.retrieve("Lukaschenko Putin", top_k=8, max_sentences=2).evidence) <= 2


def test_bm25_index_includes_the_title(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    doc = next(d for d in snapshot.documents.values() if d.doc_id.startswith("002"))
    first = snapshot.passages_of(doc.doc_id)[0]
    assert "trifft" not in tokens(first.text) and "trifft" in tokens(doc.title)
    ranking = retriever.lexical_ranking("trifft", 50)
    assert {snapshot.passages[i].doc_id for i in ranking} == {doc.doc_id}


def test_a_preference_beyond_hits_brings_in_a_sentence_from_outside_the_best_passages(
        snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    query = "Lukaschenko Putin Sotschi"
    hits, _, sims = retriever.search(query, 6)
    taken = {h.passage.passage_id for h in hits}
    outside = [(float(sims[sid]), p, s) for p in snapshot.passages if p.passage_id not in taken
               for sid, s in zip(snapshot.sentence_ids[p.passage_id], p.sentences, strict=True)]
    _, passage, wanted = max(outside, key=lambda t: t[0])
    far = Preference(lambda t: t == wanted.text, 5.0, beyond_hits=True)
    near = Preference(lambda t: t == wanted.text, 5.0)
    found = retriever.retrieve(query, top_k=6, max_sentences=6, prefer=far).evidence
    assert found[0].sentence == wanted and found[0].passage == passage
    assert found[0].sentence_id == snapshot.sentence_ids[passage.passage_id][passage.sentences.index(wanted)]
    assert wanted not in [e.sentence for e in retriever.retrieve(query, top_k=6, max_sentences=6, prefer=near).evidence]


def test_an_article_ingested_twice_is_one_passage_among_the_hits(seeds_dir: Path, tmp_path: Path,
                                                                 embedder: FakeEmbedder) -> None:
    """Two folders holding the same article give two documents with one text: the hits hold it once."""
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(next(iter(sorted(seeds_dir.glob("*.txt")))), other / "copy.txt")
    store = Store(tmp_path / "index")
    Ingestor(store, embedder, Settings().chunk_chars).ingest([seeds_dir, other])
    snap = store.load()
    texts = [" ".join(p.text.split()) for p in snap.passages]
    assert len(texts) > len(set(texts)), "the index holds the copy's passages"
    retriever = Retriever(snap, embedder)
    copied = {" ".join(p.text.split()) for p in snap.passages if p.doc_id.startswith("000_")}
    for query in ("Lukaschenko Putin Sanktionen", "Massenproteste EU", "Militärabkommen Hilfe"):
        hits, _, _ = retriever.search(query, top_k=6)
        shown = [" ".join(h.passage.text.split()) for h in hits]
        assert len(shown) == len(set(shown)) == 6, query
        assert copied & set(shown), f"{query}: the copied article is among the hits"
    assert retriever.search("Lukaschenko Putin", top_k=0)[0] == [], "no passages asked, none given"
