"""Choosing the embedder backend: settings, ids that keep indexes apart, the cached ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embeddings import onnx_embedder
from embeddings.embedder import SentenceTransformerEmbedder
from embeddings.onnx_embedder import OnnxEmbedder, read_prompts
from embeddings.onnx_export import (
    META_FILE,
    MODEL_FILE,
    VECTORS_VERSION,
    ExportError,
    _exact_rope_frequencies,
    _smooth_down_projections,
    ensure_int8,
    export_dir,
    quantize_checked,
    smoothing_scales,
)
from rag.errors import InputError
from rag.factory import build_embedder
from rag.settings import Settings


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A stand-in sentence-transformers folder: the files the backends read before loading weights."""
    folder = tmp_path / "models" / "tiny-embedder"
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    (folder / "model.safetensors").write_bytes(b"0" * 64)
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "task: search result | query: ", "document": "title: none | text: "}}))
    return folder


def test_backend_is_read_from_the_environment() -> None:
    assert Settings().embed_backend == "onnx-int8"
    assert Settings.from_env({"RAG_EMBED_BACKEND": "torch"}).embed_backend == "torch"
    assert Settings.from_env({"RAG_EMBED_BACKEND": "onnx-int8"}).embed_backend == "onnx-int8"


def test_backends_have_different_model_ids_and_nothing_is_exported_up_front(settings: Settings,
                                                                           model_dir: Path) -> None:
    torch_emb = build_embedder(settings.with_overrides(embedder_path=model_dir, embed_backend="torch"))
    onnx_emb = build_embedder(settings.with_overrides(embedder_path=model_dir, embed_backend="onnx-int8"))
    assert isinstance(torch_emb, SentenceTransformerEmbedder) and isinstance(onnx_emb, OnnxEmbedder)
    assert torch_emb.model_id == "st:tiny-embedder"
    assert onnx_emb.model_id == f"st:tiny-embedder+onnx-int8-v{VECTORS_VERSION}+solo", "int8 must not mix with float"
    assert not (settings.models_dir / "onnx").exists()


def test_unknown_backend_is_an_input_error(settings: Settings, model_dir: Path) -> None:
    with pytest.raises(InputError, match="embed_backend 'gpu'"):
        build_embedder(settings.with_overrides(embedder_path=model_dir, embed_backend="gpu"))


def test_onnx_embedder_uses_the_models_prompts(model_dir: Path) -> None:
    assert read_prompts(model_dir)["document"] == "title: none | text: "
    assert read_prompts(model_dir.parent) == {}


def test_export_folder_is_keyed_by_model_path_and_weights(tmp_path: Path, model_dir: Path) -> None:
    first = export_dir(tmp_path / "onnx", model_dir)
    assert first.name.startswith("tiny-embedder-int8-")
    (model_dir / "model.safetensors").write_bytes(b"0" * 65)
    assert export_dir(tmp_path / "onnx", model_dir) != first


def test_a_new_export_version_is_exported_again_and_keeps_the_vectors_id(tmp_path: Path, model_dir: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine that kept an older file (a CI machine's cache did) builds the new one; its indexes stay."""
    from embeddings import onnx_export

    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "index", embedder_path=model_dir)
    before = (export_dir(tmp_path / "onnx", model_dir), build_embedder(settings).model_id)
    monkeypatch.setattr(onnx_export, "EXPORT_VERSION", "next")
    assert export_dir(tmp_path / "onnx", model_dir) != before[0]
    assert build_embedder(settings).model_id == before[1]


def test_finished_export_is_reused_without_exporting(tmp_path: Path, model_dir: Path) -> None:
    cache = tmp_path / "onnx"
    dest = export_dir(cache, model_dir)
    dest.mkdir(parents=True)
    (dest / MODEL_FILE).write_bytes(b"onnx")
    (dest / META_FILE).write_text("{}")
    assert ensure_int8(model_dir, cache) == dest / MODEL_FILE


def test_a_new_export_removes_the_models_older_ones_only(tmp_path: Path, model_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An export version bump must not leave the last version's 310 MB file behind; other models' stay."""
    import embeddings.onnx_export as onnx_export

    cache = tmp_path / "onnx"
    folders = {name: cache / f"{model_dir.name}-int8-{name}" for name in ("v5", "v4", "unfinished")}
    for name, folder in folders.items():
        folder.mkdir(parents=True)
        (folder / MODEL_FILE).write_bytes(b"old")
        if name != "unfinished":
            (folder / META_FILE).write_text(json.dumps({"source": str(model_dir.resolve()), "model_bytes": 3}))
    other = cache / f"{model_dir.name}-int8-elsewhere"
    other.mkdir()
    (other / META_FILE).write_text(json.dumps({"source": "/another/copy/tiny-embedder", "model_bytes": 3}))

    def export(source: Path, out: Path, threads: int) -> dict[str, object]:
        (out / MODEL_FILE).write_bytes(b"new")
        return {"source": str(source.resolve()), "model_bytes": 3}

    monkeypatch.setattr(onnx_export, "_export_in_child", export)
    made = ensure_int8(model_dir, cache)
    assert made.read_bytes() == b"new"
    assert not folders["v5"].exists() and not folders["v4"].exists()
    assert folders["unfinished"].exists() and other.exists(), "only finished exports of this source go"
    assert ensure_int8(model_dir, cache) == made


class _ExportAttempted(Exception):
    pass


@pytest.fixture
def export_attempts(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The export child replaced by one that records its source and fails."""
    import embeddings.onnx_export as onnx_export

    seen: list[Path] = []

    def attempt(source: Path, out: Path, threads: int) -> dict[str, object]:
        seen.append(source)
        raise _ExportAttempted

    monkeypatch.setattr(onnx_export, "_export_in_child", attempt)
    return seen


def test_unfinished_export_is_not_used(tmp_path: Path, model_dir: Path, export_attempts: list[Path]) -> None:
    """A folder without its metadata (written last) is an interrupted export: export again."""
    cache = tmp_path / "onnx"
    dest = export_dir(cache, model_dir)
    dest.mkdir(parents=True)
    (dest / MODEL_FILE).write_bytes(b"half")
    with pytest.raises(_ExportAttempted):
        ensure_int8(model_dir, cache)
    assert export_attempts == [model_dir]
    assert not list(cache.glob(".tmp-*")), "the temporary export folder is cleaned up"



def test_export_cut_short_is_not_used(tmp_path: Path, model_dir: Path, export_attempts: list[Path]) -> None:
    """A model file of another size than the metadata records is damaged: export again."""
    cache = tmp_path / "onnx"
    dest = export_dir(cache, model_dir)
    dest.mkdir(parents=True)
    (dest / MODEL_FILE).write_bytes(b"onnx")
    (dest / META_FILE).write_text(json.dumps({"model_bytes": 4}))
    assert ensure_int8(model_dir, cache) == dest / MODEL_FILE
    assert export_attempts == []
    (dest / MODEL_FILE).write_bytes(b"on")
    with pytest.raises(_ExportAttempted):
        ensure_int8(model_dir, cache)
    assert export_attempts == [model_dir]


def test_a_failed_export_child_is_one_line_and_leaves_nothing(tmp_path: Path, model_dir: Path) -> None:
    """The export runs in a real child Python (its hash seed fixed); its failure is one line, its folder removed."""
    cache = tmp_path / "onnx"
    with pytest.raises(ExportError, match=r"^int8 export of .*tiny-embedder failed: \w+") as failed:
        ensure_int8(model_dir, cache)
    assert "\n" not in str(failed.value)
    assert not list(cache.glob(".tmp-*")) and not export_dir(cache, model_dir).exists()


def test_failed_export_is_a_one_line_model_error(settings: Settings, model_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import embeddings.onnx_export as onnx_export
    from rag.errors import ModelError

    def fail(*args: object) -> Path:
        raise onnx_export.ExportError("int8 export disagrees with the float model (cosine 0.900 < 0.98)")

    monkeypatch.setattr(onnx_export, "ensure_int8", fail)
    embedder = build_embedder(settings.with_overrides(embedder_path=model_dir, embed_backend="onnx-int8"))
    assert isinstance(embedder, OnnxEmbedder)
    with pytest.raises(ModelError, match="cosine 0.900 < 0.98.*RAG_EMBED_BACKEND=torch"):
        embedder.locate()

class _BatchScaledSession:
    """Quantizes like the int8 graph: one scale per input tensor, so a row depends on its batch."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def run(self, _outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        ids = feeds["input_ids"].astype(np.float32)
        self.shapes.append(ids.shape)
        scale = max(float(ids.max()), 1.0) / 127
        quantized = np.round(ids / scale) * scale
        return [np.stack([quantized.sum(1), np.full(len(ids), 1.0)], axis=1)]


class _Encoding:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids


class _CharTokenizer:
    def encode_batch(self, texts: list[str]) -> list[_Encoding]:
        return [_Encoding([ord(c) for c in t]) for t in texts]


def test_a_text_gets_the_same_vector_alone_and_among_others(model_dir: Path) -> None:
    """Runs never batch texts: under one quantization scale per tensor a vector would depend on its neighbours."""
    embedder = OnnxEmbedder(model_dir, lambda: model_dir / MODEL_FILE, "fake", dimension=2)
    opened: list[_BatchScaledSession] = []

    def open_(threads: int) -> _BatchScaledSession:
        opened.append(_BatchScaledSession())
        return opened[-1]

    embedder._open, embedder._tokenizer = open_, _CharTokenizer()  # type: ignore[method-assign,assignment]
    alone = embedder.embed_documents(["Minsk"])[0]
    among = embedder.embed_documents(["a", "Minsk", "\u00ff" * 40])
    assert np.array_equal(alone, among[1]) and len(opened) == 3
    assert all(shape[0] == 1 for s in opened for shape in s.shapes), [s.shapes for s in opened]


def test_many_texts_run_side_by_side_on_one_thread_sessions_in_their_order(model_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Many texts are shared among one-thread sessions and come back in order; a query keeps the two-thread one."""
    embedder = OnnxEmbedder(model_dir, lambda: model_dir / MODEL_FILE, "fake", threads=2, dimension=2)
    opened: list[int] = []

    def open_(threads: int) -> _BatchScaledSession:
        opened.append(threads)
        return _BatchScaledSession()

    trims: list[int] = []
    monkeypatch.setattr(onnx_embedder, "give_back_freed_memory", lambda: trims.append(len(embedder._side)))
    embedder._open, embedder._tokenizer = open_, _CharTokenizer()  # type: ignore[method-assign,assignment]
    texts = [chr(65 + i) * (i + 1) for i in range(7)]
    together = embedder.embed_documents(texts)
    assert opened == [1, 1] and all(len(s.shapes) in (3, 4) for s in embedder._side)
    assert trims == [], "nothing let go yet"
    alone = np.stack([embedder.embed_documents([t])[0] for t in texts])
    assert opened == [1, 1, 2], "one text runs on the session of two threads"
    assert np.array_equal(together, alone), "each vector in its text's row"
    assert not embedder._side, "a query lets the one-thread sessions go"
    assert trims == [0], "and gives their freed memory back, once"


@pytest.mark.real
def test_lookup_table_is_stored_as_int8_rows_and_looks_up_the_same_vectors(tmp_path: Path) -> None:
    """The token-embedding table shrinks fourfold; a lookup (run by ONNX Runtime) gives each row within its step."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from embeddings.onnx_export import _int8_lookup_tables

    rng = np.random.default_rng(0)
    table = (rng.standard_normal((12_000, 32)) * rng.uniform(0.01, 5.0, (12_000, 1))).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["rows"], name="lookup"),
         helper.make_node("Mul", ["rows", "two"], ["out"], name="after")],
        "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [None, None])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, None, 32])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")])
    src, dest = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    assert _int8_lookup_tables(src, dest) == 1
    assert dest.stat().st_size < src.stat().st_size / 3
    ids = np.array([[0, 5, 11_999], [7, 7, 42]], dtype=np.int64)
    out = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"]).run(None, {"ids": ids})[0]
    expected = table[ids] * 2
    step = np.abs(table[ids]).max(axis=-1, keepdims=True) / 127
    assert np.all(np.abs(out - expected) <= step + 1e-6)
    assert not np.allclose(out, expected, atol=0), "the rows really went through int8"


@pytest.mark.real
def test_a_lookup_table_two_gathers_share_is_stored_once(tmp_path: Path) -> None:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from embeddings.onnx_export import _int8_lookup_tables

    table = np.random.default_rng(1).standard_normal((12_000, 32)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "a"], ["ra"], name="first"),
         helper.make_node("Gather", ["table", "b"], ["rb"], name="second"),
         helper.make_node("Add", ["ra", "rb"], ["out"], name="sum")],
        "g", [helper.make_tensor_value_info(n, TensorProto.INT64, [None]) for n in ("a", "b")],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 32])],
        [numpy_helper.from_array(table, "table")])
    src, dest = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    assert _int8_lookup_tables(src, dest) == 1
    assert [i.name for i in onnx.load(str(dest)).graph.initializer] == ["table_int8", "table_scale"]
    a, b = np.array([3, 11_999], dtype=np.int64), np.array([0, 5], dtype=np.int64)
    out = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"]).run(None, {"a": a, "b": b})[0]
    np.testing.assert_allclose(out, table[a] + table[b], atol=0.1)


def _traced_model(trace: str) -> object:
    """A small graph (one node with a subgraph) carrying an exporter's notes at every level."""
    from onnx import TensorProto, helper, numpy_helper

    def noted(item: object, text: str) -> object:
        helper.set_metadata_props(item, {"pkg.torch.onnx.stack_trace": text})
        item.doc_string = text  # type: ignore[attr-defined]
        return item

    branch = noted(helper.make_graph([noted(helper.make_node("Identity", ["x"], ["y"], name="inner"), trace)],
                                     "branch", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])]), trace)
    graph = helper.make_graph(
        [noted(helper.make_node("Mul", ["x", "w"], ["x2"], name="scale"), trace),
         noted(helper.make_node("If", ["c"], ["out"], name="choose", then_branch=branch, else_branch=branch), trace)],
        "g", [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2])],
        [noted(numpy_helper.from_array(np.array([1.5, -2.0], dtype=np.float32), "w"), trace),
         numpy_helper.from_array(np.array([3.0, 4.0], dtype=np.float32), "x")],
        value_info=[noted(helper.make_tensor_value_info("x2", TensorProto.FLOAT, [2]), trace)])
    return helper.make_model(noted(graph, trace), opset_imports=[helper.make_opsetid("", 17)])


def test_an_export_keeps_no_notes_of_the_run_that_built_it() -> None:
    """Two builds whose stack traces differ (another folder, a moved line) give one file, numbers kept."""
    from onnx import numpy_helper

    from embeddings.onnx_export import without_build_traces

    here, there = _traced_model('File "/home/a/rag/onnx_export.py", line 188'), _traced_model('File "/ci/x", line 190')
    assert here.SerializeToString() != there.SerializeToString()  # type: ignore[attr-defined]
    for model in (here, there):
        without_build_traces(model)
    data = here.SerializeToString()  # type: ignore[attr-defined]
    assert data == there.SerializeToString()  # type: ignore[attr-defined]
    assert b"line 18" not in data and b"stack_trace" not in data
    graph = here.graph  # type: ignore[attr-defined]
    assert [n.op_type for n in graph.node] == ["Mul", "If"]
    assert [n.op_type for n in graph.node[1].attribute[0].g.node] == ["Identity"]
    assert numpy_helper.to_array(graph.initializer[0]).tolist() == [1.5, -2.0]


@pytest.mark.parametrize("full_range_passes", [True, False], ids=["vnni-like", "avx2-like"])
def test_the_export_builds_seven_bit_weights_whatever_the_cpu(tmp_path: Path, full_range_passes: bool) -> None:
    """A CPU where full range passes (VNNI) and one where it saturates (AVX2) get the same export."""
    tried: list[bool] = []

    def build(reduce_range: bool) -> np.ndarray:
        tried.append(reduce_range)
        return np.array([0.99, 0.988]) if reduce_range or full_range_passes else np.array([0.99, 0.965])

    reduce, cosines = quantize_checked(build, tmp_path)
    assert (reduce, tried) == (True, [True])
    assert cosines.min() == 0.988


def test_the_export_reads_nothing_of_the_cpu() -> None:
    import inspect

    from embeddings import onnx_embedder, onnx_export

    for module in (onnx_export, onnx_embedder):
        source = inspect.getsource(module)
        assert "cpuinfo" not in source and "cpu_class" not in source and "platform" not in source


@pytest.mark.real  # torch is blocked in the fast tier; no model is loaded
def test_smoothing_scales_are_powers_of_two_that_last_bits_do_not_move() -> None:
    """Another CPU's kernels change a calibration peak in its last bits; the scales must not follow."""
    import torch

    gen = torch.Generator().manual_seed(7)
    act = torch.rand(4096, generator=gen) * 50 + 1e-3
    weight = torch.rand(4096, generator=gen) * 0.2 + 1e-4
    scales = smoothing_scales(act, weight)
    assert torch.equal(torch.log2(scales), torch.round(torch.log2(scales)))
    for nudged in (torch.nextafter(act, torch.full_like(act, 1e9)), torch.nextafter(act, torch.zeros_like(act))):
        assert torch.equal(smoothing_scales(nudged, weight), scales)
    exact = act ** 0.5 / weight ** 0.5
    assert float((scales / exact).max()) <= 2 ** 0.5 + 1e-6 and float((exact / scales).max()) <= 2 ** 0.5 + 1e-6


@pytest.mark.real  # torch is blocked in the fast tier; no model is loaded
def test_smoothing_leaves_the_float_model_computing_the_same_bits() -> None:
    """Scaling by powers of two is exact: smoothed, the MLP gives bit for bit the outputs it gave before."""
    import torch

    torch.manual_seed(3)

    class Mlp(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate_proj, self.up_proj = torch.nn.Linear(16, 64, bias=False), torch.nn.Linear(16, 64, bias=False)
            self.down_proj = torch.nn.Linear(64, 16, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.down_proj(torch.nn.functional.gelu(self.gate_proj(x)) * self.up_proj(x))

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mlp = Mlp()

        def encode(self, texts: list[str], **_: object) -> torch.Tensor:
            dtype = self.mlp.up_proj.weight.dtype
            return self.mlp(torch.stack([torch.randn(16, dtype=dtype) * (1 + 40 * (i % 2)) for i in range(len(texts))]))

    model, probe = Model(), torch.randn(32, 16) * 10
    before = model.mlp(probe).detach()
    up_before = model.mlp.up_proj.weight.detach().clone()
    assert _smooth_down_projections(model, ["a", "b", "c", "d"], None) == 1
    assert not torch.equal(model.mlp.up_proj.weight, up_before), "the scales moved weight between the layers"
    assert torch.equal(model.mlp(probe).detach(), before)


_PEAKS_CHILD = """
import sys, numpy as np, torch
from sentence_transformers import SentenceTransformer
from embeddings.onnx_export import CALIBRATION, _activation_peaks, _exact_rope_frequencies
torch.set_num_threads(int(sys.argv[3]))
model = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True).eval()
_exact_rope_frequencies(model)
mlps = [m for m in model.modules() if hasattr(m, "down_proj") and hasattr(m, "up_proj")]
peaks = _activation_peaks(model, [m.down_proj for m in mlps], list(CALIBRATION), "document")
np.save(sys.argv[2], np.stack([p.numpy() for p in peaks]))
print(torch.backends.cpu.get_cpu_capability(), next(model.parameters()).dtype)
"""


def _other_kernels(capability: str) -> dict[str, str]:
    """Environment that makes torch, MKL and oneDNN use another CPU's kernels than this one's."""
    wide = capability.startswith("AVX512")
    return {"ATEN_CPU_CAPABILITY": "avx2" if wide else "default",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2" if wide else "SSE4_2", "ONEDNN_MAX_CPU_ISA": "AVX2" if wide else "SSE41"}


@pytest.mark.real
def test_the_real_calibration_peaks_are_far_from_moving_a_power_of_two_with_another_cpus_kernels(
        tmp_path: Path) -> None:
    """The one torch computation the int8 file depends on, measured with two CPUs' kernels.

    The smoothing's powers of two flip if a peak moves by 8.7e-6 (relative) for EmbeddingGemma's
    closest channel. Float32 calibration moved peaks by up to 2.9e-5 between kernels on one
    machine (and a CI machine's AVX2 export differed); float64 must keep them within 1e-7.
    """
    import os
    import subprocess
    import sys

    import torch

    from rag.errors import RagError
    from rag.models import resolve_embedder

    settings = Settings.from_env()
    try:
        source = resolve_embedder(settings)
    except RagError as exc:
        pytest.skip(f"real embedder missing: {exc}")
    runs = {}
    for name, extra in (("native", {}), ("other", _other_kernels(torch.backends.cpu.get_cpu_capability()))):
        done = subprocess.run([sys.executable, "-c", _PEAKS_CHILD, str(source), str(tmp_path / f"{name}.npy"),
                               str(settings.threads)], env={**os.environ, "HF_HUB_OFFLINE": "1", **extra},
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split()[-1] == "torch.float32", "the model went back to float32"
        runs[name] = np.load(tmp_path / f"{name}.npy")
    assert runs["native"].shape[0] > 0 and np.all(runs["native"] > 0)
    moved = np.abs(runs["other"] - runs["native"]) / runs["native"]
    assert float(moved.max()) < 1e-7, f"peaks moved by {float(moved.max()):.1e} with another CPU's kernels"


@pytest.mark.real  # torch is blocked in the fast tier; no model is loaded
def test_rope_frequencies_are_rounded_from_float64_and_others_left_alone() -> None:
    """A table one ulp off (another CPU's ``pow``) becomes the float64 value; a table of another kind stays."""
    import math
    from types import SimpleNamespace

    import torch

    dim, base = 8, 10_000.0
    exact = torch.tensor([1.0 / base ** (i / dim) for i in range(0, dim, 2)], dtype=torch.float64).float()
    rope = torch.nn.Module()
    rope.config = SimpleNamespace(head_dim=dim, rope_parameters={
        "global": {"rope_type": "default", "rope_theta": base},
        "local": {"rope_type": "linear", "rope_theta": base, "factor": 8.0}})
    rope.register_buffer("global_inv_freq", torch.nextafter(exact, torch.zeros_like(exact)))
    rope.register_buffer("local_inv_freq", exact / 8)
    holder = torch.nn.Sequential(rope)
    assert _exact_rope_frequencies(holder) == 1
    assert torch.equal(rope.global_inv_freq, exact)
    assert torch.equal(rope.local_inv_freq, exact / 8)
    assert math.isclose(float(rope.global_inv_freq[1]), base ** -0.25, rel_tol=1e-7)


def test_export_fails_clearly_when_seven_bit_weights_fail_the_check(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"0\.970 with 7-bit weights"):
        quantize_checked(lambda reduce_range: np.array([0.97 if reduce_range else 0.99]), tmp_path)


@pytest.mark.real
def test_the_real_int8_vector_of_a_text_does_not_depend_on_its_neighbours() -> None:
    from rag.errors import RagError

    embedder = build_embedder(Settings.from_env())
    texts = ["Lukaschenko erhielt 80,1 Prozent der Stimmen.", "Putin sagte umfassende Hilfe zu, auch militärische.",
             "Die Proteste in Minsk dauerten den ganzen Herbst an, trotz Festnahmen und Gewalt der Polizei." * 3]
    try:
        alone = embedder.embed_documents(texts[:1])[0]
    except RagError as exc:
        pytest.skip(f"real embedder missing: {exc}")
    among = embedder.embed_documents(texts)
    assert float(alone @ among[0]) > 0.99999


@pytest.mark.real
def test_the_real_vectors_are_the_same_bytes_side_by_side_and_on_one_session() -> None:
    """Ingest runs texts on one-thread sessions side by side; the index's vectors must not change for it."""
    from dataclasses import replace

    from rag.errors import RagError

    texts = [f"Satz {i}: Die Proteste in Minsk dauerten an, {i * 7} Menschen wurden festgenommen." for i in range(9)]
    one = build_embedder(replace(Settings.from_env(), threads=2))
    try:
        alone = np.stack([one.embed_documents([t])[0] for t in texts])
    except RagError as exc:
        pytest.skip(f"real embedder missing: {exc}")
    assert isinstance(one, OnnxEmbedder) and not one._side
    together = one.embed_documents(texts)
    assert len(one._side) == 2, "many texts ran on the one-thread sessions"
    assert np.array_equal(alone, together)
    one.embed_queries(["Wer hat gewonnen?"])
    assert not one._side


@pytest.mark.real
def test_the_real_export_is_the_same_file_with_another_cpus_kernels(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: the int8 embedder, and so retrieval and the gates, must not depend on the CPU's features.

    torch, MKL and oneDNN pick their kernels by the CPU (three variables override them): the export
    is run again (its child Python reads them) and must give the same bytes as the app's own export.
    Export version 4 did not (AVX-512 and AVX2 kernels gave two different files on one machine).
    """
    import hashlib

    import torch

    from rag.errors import RagError
    from rag.models import resolve_embedder

    settings = Settings.from_env()
    try:
        source = resolve_embedder(settings)
        native = ensure_int8(source, settings.models_dir / "onnx", settings.threads)
    except RagError as exc:
        pytest.skip(f"real embedder missing: {exc}")
    kernels = _other_kernels(torch.backends.cpu.get_cpu_capability())
    other = kernels["ATEN_CPU_CAPABILITY"]
    for name, value in kernels.items():
        monkeypatch.setenv(name, value)
    again = ensure_int8(source, tmp_path, settings.threads)

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    if digest(again) != digest(native):
        pytest.fail(f"the {other} kernels' export differs from this CPU's own: {_where_exports_differ(native, again)}")


def _where_exports_differ(first: Path, second: Path) -> str:
    """What two ONNX files differ in, for a failure message: tensors, nodes and the fields that moved."""
    import onnx
    from onnx import numpy_helper

    models = [onnx.load(str(f)) for f in (first, second)]
    tables = [{t.name: numpy_helper.to_array(t) for t in m.graph.initializer} for m in models]
    moved = sorted(n for n in tables[0].keys() | tables[1].keys()
                   if n not in tables[0] or n not in tables[1] or not np.array_equal(tables[0][n], tables[1][n]))
    nodes = [(a.name, [f.name for f, _ in a.ListFields() if getattr(a, f.name) != getattr(b, f.name)])
             for a, b in zip(models[0].graph.node, models[1].graph.node, strict=False) if a != b]
    counts = [len(m.graph.node) for m in models]
    return (f"{len(moved)} tensors {moved[:5]}, {len(nodes)} of {counts} nodes {nodes[:3]}, "
            f"graph notes equal: {models[0].graph.metadata_props == models[1].graph.metadata_props}")


@pytest.mark.real
def test_the_real_export_names_no_folder_of_the_machine_that_built_it() -> None:
    """torch's exporter wrote each node's stack trace (this checkout's and venv's paths, line numbers)
    into the file: an edit to the export module or another install folder gave another file with the
    same numbers, and a CI machine's second export differed from its first in no tensor."""
    import sys

    import embeddings
    from rag.errors import RagError
    from rag.models import resolve_embedder

    settings = Settings.from_env()
    try:
        native = ensure_int8(resolve_embedder(settings), settings.models_dir / "onnx", settings.threads)
    except RagError as exc:
        pytest.skip(f"real embedder missing: {exc}")
    data = native.read_bytes()
    checkout = Path(embeddings.__file__).resolve().parent.parent
    for folder in (checkout, Path(sys.prefix)):
        assert str(folder).encode() not in data, f"{native} names {folder}"
    assert b"onnx_export.py" not in data and b"stack_trace" not in data
