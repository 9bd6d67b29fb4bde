"""Sentence vectors pooled from their passage's run: the head fold, the pooling, and the ingest that uses them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from embeddings.embedder import PassageEmbedder
from embeddings.onnx_embedder import InPassageEmbedder, linear_head
from embeddings.onnx_export import MODEL_FILE
from rag.embed_cache import EmbeddingCache
from rag.errors import ModelError
from rag.ingest import Ingestor
from rag.store import Store

PROMPT = "title: none | text: "


def _st_folder(root: Path, *, bias: bool = False, activation: str = "torch.nn.modules.linear.Identity",
               pooling: str = "pooling_mode_mean_tokens") -> tuple[Path, np.ndarray, np.ndarray]:
    from safetensors.numpy import save_file

    folder = root / "st"
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((3, 6)).astype(np.float32)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    for i, w in ((2, w1), (3, w2)):
        sub = folder / f"{i}_Dense"
        sub.mkdir(parents=True)
        save_file({"linear.weight": w}, str(sub / "model.safetensors"))
        (sub / "config.json").write_text(json.dumps({"in_features": w.shape[1], "out_features": w.shape[0],
                                                     "bias": bias, "activation_function": activation}))
        modules.append({"idx": i, "name": str(i), "path": f"{i}_Dense", "type": "sentence_transformers.models.Dense"})
    modules.append({"idx": 4, "name": "4", "path": "4_Normalize", "type": "sentence_transformers.models.Normalize"})
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": False, pooling: True}))
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"document": PROMPT}}))
    return folder, w1, w2


def test_bias_free_linear_dense_layers_fold_into_one_matrix(tmp_path: Path) -> None:
    folder, w1, w2 = _st_folder(tmp_path)
    head = linear_head(folder)
    assert head is not None
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_allclose(x @ head, w2 @ (w1 @ x), rtol=1e-5)


@pytest.mark.parametrize("variant", [{"bias": True}, {"activation": "torch.nn.modules.activation.Tanh"},
                                     {"pooling": "pooling_mode_cls_token"}], ids=["bias", "tanh", "cls"])
def test_any_other_head_is_not_folded(tmp_path: Path, variant: dict[str, object]) -> None:
    folder, _, _ = _st_folder(tmp_path, **variant)  # type: ignore[arg-type]
    assert linear_head(folder) is None


def test_the_setting_chooses_the_in_passage_embedder_under_its_own_id(tmp_path: Path) -> None:
    from dataclasses import replace

    from rag.errors import InputError
    from rag.factory import build_embedder
    from rag.settings import Settings

    base = replace(Settings(home=tmp_path), embedder_path=_st_folder(tmp_path)[0])
    alone, pooled = build_embedder(base), build_embedder(replace(base, sentence_vectors="in-passage"))
    assert not isinstance(alone, PassageEmbedder) and isinstance(pooled, PassageEmbedder)
    assert pooled.model_id == alone.model_id + "+in-passage"
    assert Settings.from_env({"RAG_SENTENCE_VECTORS": "in-passage"}).sentence_vectors == "in-passage"
    with pytest.raises(InputError, match="sentence_vectors 'pooled'"):
        build_embedder(replace(base, sentence_vectors="pooled"))


class _Encoding:
    def __init__(self, text: str, limit: int) -> None:
        self.ids = [ord(c) for c in text][:limit]
        self.offsets = [(i, i + 1) for i in range(len(self.ids))]


class _CharTokenizer:
    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit

    def encode_batch(self, texts: list[str]) -> list[_Encoding]:
        return [_Encoding(t, self.limit) for t in texts]


class _StateSession:
    """Token states [code, 1, 0, 0]; the passage vector is [0, 0, 1, len]. Records the outputs asked for."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.asked.append(list(outputs))
        ids = feeds["input_ids"].astype(np.float32)
        states = np.stack([ids, np.ones_like(ids), np.zeros_like(ids), np.zeros_like(ids)], axis=-1)
        vec = np.stack([np.zeros(len(ids)), np.zeros(len(ids)), np.ones(len(ids)), np.full(len(ids), ids.shape[1])],
                       axis=1)
        return [vec, states][:len(outputs)]


def _unit(v: Sequence[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_sentence_is_pooled_from_the_tokens_it_holds_in_its_passage(tmp_path: Path, threads: int) -> None:
    folder, _, _ = _st_folder(tmp_path)
    embedder = InPassageEmbedder(folder, lambda: folder / MODEL_FILE, "fake", threads=threads, dimension=4)
    embedder._open = lambda _threads: _StateSession()  # type: ignore[method-assign,assignment]
    embedder._tokenizer = _CharTokenizer()  # type: ignore[assignment]
    embedder._head = np.eye(4, dtype=np.float32)
    texts = ["ab. cd.", "x.", "Hallo Welt."]
    spans = [[(0, 3), (4, 7)], [(0, 2)], [(0, 11)]]
    passages, inside = embedder.embed_passages(texts, spans)
    for k, text in enumerate(texts):
        np.testing.assert_allclose(passages[k], _unit([0, 0, 1, len(PROMPT) + len(text)]), rtol=1e-6)
        for (a, b), vec in zip(spans[k], inside[k], strict=True):
            codes = [ord(c) for c in text[a:b]]
            np.testing.assert_allclose(vec, _unit([np.mean(codes), 1, 0, 0]), rtol=1e-6, err_msg=text[a:b])


def test_a_sentence_cut_off_by_the_length_limit_is_embedded_alone(tmp_path: Path) -> None:
    folder, _, _ = _st_folder(tmp_path)
    embedder = InPassageEmbedder(folder, lambda: folder / MODEL_FILE, "fake", threads=1, dimension=4)
    embedder._open = lambda _threads: _StateSession()  # type: ignore[method-assign,assignment]
    embedder._tokenizer = _CharTokenizer(limit=len(PROMPT) + 5)  # type: ignore[assignment]
    embedder._head = np.eye(4, dtype=np.float32)
    _, inside = embedder.embed_passages(["abc. xyz."], [[(0, 4), (5, 9)]])
    np.testing.assert_allclose(inside[0][0], _unit([np.mean([ord(c) for c in "abc."]), 1, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(inside[0][1], _unit([0, 0, 1, len(PROMPT) + 4]), rtol=1e-6,
                               err_msg="'xyz.' had no token in the passage's run: its own run's vector")


class LateFakeEmbedder(FakeEmbedder):
    """A ``PassageEmbedder``: a sentence's vector in its passage is that of the passage's first word and itself."""

    def __init__(self, model_id: str = "fake:late") -> None:
        super().__init__(model_id)
        self.passage_calls = 0

    @staticmethod
    def in_passage(passage: str, sentence: str) -> str:
        return f"{passage.split()[0]} {sentence}"

    def embed_passages(self, texts: Sequence[str],
                       spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        self.passage_calls += 1
        return self._embed(texts), [self._embed([self.in_passage(t, t[a:b]) for a, b in s])
                                    for t, s in zip(texts, spans, strict=True)]


def test_the_ingest_stores_sentence_vectors_from_their_passages_run(tmp_path: Path, seeds_dir: Path) -> None:
    embedder = LateFakeEmbedder()
    assert isinstance(embedder, PassageEmbedder) and not isinstance(FakeEmbedder(), PassageEmbedder)
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    store = Store(tmp_path / "index")
    report = Ingestor(store, embedder, 500, cache=cache).ingest([seeds_dir])
    snap = store.load()
    assert embedder.document_calls == 0 and embedder.passage_calls > 0
    assert report.sentences_embedded == len(snap.sentence_vectors) > len(snap.passages)
    for p in snap.passages:
        for sid, s in zip(snap.sentence_ids[p.passage_id], p.sentences, strict=True):
            np.testing.assert_allclose(snap.sentence_vectors[sid], embedder.vector(embedder.in_passage(p.text, s.text)),
                                       atol=2e-3, err_msg=s.text)
    again = LateFakeEmbedder()
    report = Ingestor(Store(tmp_path / "other"), again, 500, cache=cache).ingest([seeds_dir])
    assert again.passage_calls == 0 and report.cached > 0, "passages and their sentences came from the cache"
    np.testing.assert_array_equal(np.asarray(Store(tmp_path / "other").load().sentence_vectors[:]),
                                  np.asarray(snap.sentence_vectors[:]))


class WrongShapeEmbedder(LateFakeEmbedder):
    def embed_passages(self, texts: Sequence[str],
                       spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        passages, inside = super().embed_passages(texts, spans)
        return passages, [v[:-1] for v in inside]


def test_sentence_vectors_of_the_wrong_shape_are_a_model_error(tmp_path: Path, seeds_dir: Path) -> None:
    with pytest.raises(ModelError, match="wrong shape"):
        Ingestor(Store(tmp_path / "index"), WrongShapeEmbedder(), 500).ingest([seeds_dir])


@pytest.mark.real
def test_the_real_sentence_vectors_in_a_passage_stay_nearest_their_own_sentence() -> None:
    from dataclasses import replace

    from rag.errors import RagError
    from rag.factory import build_embedder
    from rag.settings import Settings

    embedder = build_embedder(replace(Settings.from_env(), sentence_vectors="in-passage"))
    sentences = ["Lukaschenko erhielt nach offiziellen Angaben 80,1 Prozent der Stimmen.",
                 "Das kündigte Außenminister Lawrow am Montag in Moskau an.",
                 "Die Panthers gewannen das Spiel mit 24 zu 10."]
    text = " ".join(sentences)
    spans, at = [], 0
    for s in sentences:
        spans.append((at, at + len(s)))
        at += len(s) + 1
    try:
        alone = embedder.embed_documents(sentences)
    except RagError as exc:
        pytest.skip(f"real embedder missing: {exc}")
    assert isinstance(embedder, PassageEmbedder)
    passages, inside = embedder.embed_passages([text], [spans])
    assert float(passages[0] @ embedder.embed_documents([text])[0]) > 0.99999
    similarity = inside[0] @ alone.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2], similarity
    assert float(similarity.diagonal().min()) > 0.6, similarity
