"""Retrieval at scale: partial top-n equals the full stable sort; candidate-only sentence scoring."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import FakeEmbedder

from rag.retrieve import Retriever, top_indices
from rag.store import Snapshot


@pytest.mark.parametrize("n", [0, 1, 5, 50, 200, 1000])
def test_top_indices_equals_the_stable_argsort_prefix(n: int) -> None:
    rng = np.random.default_rng(n)
    scores = rng.integers(0, 20, 300).astype(np.float32)  # many ties
    np.testing.assert_array_equal(top_indices(scores, n), np.argsort(-scores, kind="stable")[:n])


QUERIES = ["Was versprach Putin Lukaschenko?", "80,1 Prozent", "Tichanowskaja Litauen", "Sotschi Kredit"]


@pytest.mark.parametrize("query", QUERIES)
def test_candidate_sentence_scoring_covers_every_hit(snapshot: Snapshot, embedder: FakeEmbedder, query: str) -> None:
    retriever = Retriever(snapshot, embedder, candidates=5, sentence_scan_max=0)
    hits, qvec, sims = retriever.search(query, top_k=4)
    assert sims is not None and hits
    for hit in hits:
        for sid in snapshot.sentence_ids[hit.passage.passage_id]:
            assert sims[sid] == pytest.approx(float(snapshot.sentence_vectors[sid] @ qvec), abs=1e-5)
    assert retriever.retrieve(query, top_k=4).evidence


def test_candidate_scoring_over_all_passages_equals_the_scan(snapshot: Snapshot, embedder: FakeEmbedder) -> None:
    retriever = Retriever(snapshot, embedder)
    qvec = embedder.embed_queries(["Putin Lukaschenko Kredit"])[0]
    scanned, full = retriever.sentence_ranking(qvec)
    retriever.sentence_scan_max = 0
    ranked, partial = retriever.sentence_ranking(qvec, range(len(snapshot.passages)))
    assert ranked == scanned
    np.testing.assert_allclose(partial, full, atol=1e-6)
