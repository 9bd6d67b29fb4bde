"""The FAISS index: the kind chosen by corpus size, HNSW recall against exact search, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.index import EF_SEARCH, FLAT_MAX, FaissIndex, choose_index, index_kind


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(seed: int, n: int, d: int = 64, clusters: int = 40) -> np.ndarray:
    """Unit vectors around a few centres: neighbours exist, as in real embeddings."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(rng, clusters, d)
    x = centres[rng.integers(0, clusters, n)] + 0.15 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_chooser_picks_flat_up_to_the_threshold_and_hnsw_above() -> None:
    assert index_kind(0) == index_kind(FLAT_MAX) == "flat"
    assert index_kind(FLAT_MAX + 1) == "hnsw"
    assert choose_index(10, 8).kind == "flat"
    assert FaissIndex.for_size(FLAT_MAX, 8).kind == "flat"
    big = FaissIndex.for_size(FLAT_MAX + 1, 8)
    assert big.kind == "hnsw" and big.ef_search == EF_SEARCH
    assert choose_index(100, 8, flat_max=50, ef_search=40).ef_search == 40
    assert FaissIndex(8).ef_search is None


def test_hnsw_recall_at_10_against_exact_search() -> None:
    x, q = clustered(1, 4000), clustered(2, 100)
    ids = np.arange(len(x), dtype=np.int64) * 3 + 7
    flat, hnsw = FaissIndex(x.shape[1]), FaissIndex.hnsw(x.shape[1])
    flat.add(ids, x)
    hnsw.add(ids, x)
    _, exact = flat.search(q, 10)
    _, approx = hnsw.search(q, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95
    assert set(approx.ravel()) <= set(ids)


def test_hnsw_saves_loads_and_reconstructs(tmp_path: Path) -> None:
    x = clustered(3, 500, d=16)
    ids = np.arange(500, dtype=np.int64)
    index = FaissIndex.hnsw(16, ef_search=77)
    index.add(ids, x)
    index.save(tmp_path / "i.faiss")
    loaded = FaissIndex.load(tmp_path / "i.faiss")
    assert loaded.kind == "hnsw" and loaded.size == 500 and loaded.ef_search == 77
    np.testing.assert_array_equal(loaded.vectors(np.array([0, 42, 499])), x[[0, 42, 499]])
    np.testing.assert_array_equal(loaded.search(x[:5], 3)[1], index.search(x[:5], 3)[1])
    assert loaded.search(x[:5], 1)[1][:, 0].tolist() == [0, 1, 2, 3, 4]


def test_flat_kind_survives_save_and_load(tmp_path: Path) -> None:
    index = FaissIndex(4)
    index.add(np.array([5]), np.array([[1, 0, 0, 0]], np.float32))
    index.save(tmp_path / "f.faiss")
    assert FaissIndex.load(tmp_path / "f.faiss").kind == "flat"


@pytest.mark.parametrize("n", [0, 1, 10])
def test_hnsw_small_and_empty(n: int) -> None:
    index = FaissIndex.hnsw(8)
    index.add(np.arange(n), unit_rows(np.random.default_rng(0), n, 8))
    scores, ids = index.search(unit_rows(np.random.default_rng(1), 2, 8), 5)
    assert ids.shape == (2, min(5, n))


@pytest.mark.parametrize(("flat_max", "kind"), [(FLAT_MAX, "flat"), (1000, "hnsw")])
def test_compact_index_recall_against_exact_float32(flat_max: int, kind: str, tmp_path: Path) -> None:
    """float16 codes, ids as rows, mapped on load: a flat one keeps recall@10 against exact float32
    search at 0.99 or more, an HNSW one that of the float32 HNSW graph (>= 0.95 above)."""
    n = 4000
    x, q = clustered(4, n), clustered(5, 100)
    index = FaissIndex.compact(n, x.shape[1], flat_max=flat_max)
    index.add(np.arange(n), x)
    index.save(tmp_path / "c.faiss")
    loaded = FaissIndex.load(tmp_path / "c.faiss", mmap=True)
    assert loaded.kind == kind and loaded.size == n
    exact = np.argsort(-(q @ x.T), axis=1, kind="stable")[:, :10]
    _, approx = loaded.search(q, 10)
    assert np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)]) >= 0.99 if kind == "flat" \
        else 0.95
    np.testing.assert_allclose(loaded.vectors(np.array([0, n - 1])), x[[0, n - 1]], atol=1e-3)
    _, kept = loaded.search(q[:3], 10, exclude=approx[:3, 0])
    assert not set(kept[:, 0]) & set(approx[:3, 0]), "excluded rows are never returned"


def test_a_graph_pointing_outside_the_index_is_refused() -> None:
    import faiss

    index = FaissIndex.compact(FLAT_MAX + 1, 8)
    index.add(np.arange(200), clustered(6, 200, d=8))
    index.check()
    graph = index._hnsw().hnsw
    faiss.rev_swig_ptr(graph.neighbors.data(), graph.neighbors.size())[3] = 10**6
    with pytest.raises(ValueError, match="graph"):
        index.check()
