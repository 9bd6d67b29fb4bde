"""Export a sentence-transformers folder to int8 ONNX once, verified, into a cache folder.

The export needs torch and takes a couple of minutes, so it runs on first use (never at
import), under a file lock, in a temporary folder that is renamed into place only after the
int8 model has been checked against the float torch model. A finished export is reused.

Weight MatMuls are int8. The MLP down-projections' inputs carry activation outliers that
per-tensor int8 activations cannot represent (quantized as they are, mean cosine to float drops
from 0.995 to 0.977), so before export they are smoothed (SmoothQuant): each input channel is
divided by a factor folded into the up-projection and multiplied back into the down-projection,
an exact rewrite in float that moves the outliers into the weights, where int8 is per channel.
For EmbeddingGemma that gave mean cosine 0.984 to float on seed passages (0.995 with the
down-projections left float) at about 1.4x the speed; retrieval is what it must keep, and
XQuAD recall@5 is measured for it.
Weights use 7 of their 8 bits (``reduce_range``) on every CPU. On x86 CPUs without VNNI
(AVX2 only) ONNX Runtime multiplies uint8 activations by int8 weights with an instruction whose
16-bit sums saturate at full range (probe cosine 0.965-0.973 there, 0.987-0.992 with 7 bits);
VNNI machines pass at full range, but an export chosen per CPU made retrieval, the 1.5B model's
answers and so the evaluation gates differ between machines (CI was red on VNNI with gates set
on AVX2). 7-bit weights were not enough: the smoothing below is calibrated by a float forward pass
whose last bits follow torch's kernels, and an AMD and an Intel machine still built two files
(retrieval and the 1.5B model's answers differed, and three gates failed on one). Since export
version 5 the smoothing factors are powers of two (calibrated in float64 since session 31: in
float32 another CPU's kernels can flip one, and a CI machine's AVX2 export differed), the RoPE
tables are recomputed from float64,
and the export runs in a child Python with a fixed hash seed (``_export_in_child``); the exporter's
notes about its own run (stack traces naming the checkout's folders) are dropped
(``without_build_traces``, export version 6 with version 5's vectors): every machine builds the
same file (tested by exporting again with another CPU's kernels).
The token-embedding table, four fifths of the float file, is stored as int8 with one scale per
row and dequantized after the lookup, which keeps the app's memory down.
Besides the pooled vector the graph gives the transformer's state per token (``token_states``,
export version 4), from which the embedder pools each sentence of a passage within the passage's
own run (see ``OnnxEmbedder.embed_passages``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_VERSION = "6"
"""The file's version, in its cache folder's name: a machine re-exports when the bytes it would write change."""
VECTORS_VERSION = "5"
"""The version of the vectors the file gives, in the embedder's model id: indexes and the embedding
cache stay while it does. Export version 6 changed the file's bytes (the exporter's notes dropped)
and not one number in it, so a user's archive is not embedded again."""
REDUCE_RANGE = True
MODEL_FILE = "model.onnx"
TOKEN_STATES = "token_states"
"""The transformer's output per token, before pooling: a sentence's vector inside its passage is pooled from it."""
META_FILE = "export.json"
MIN_COSINE = 0.98
PROBES = (
    "Lukaschenko erhielt nach offiziellen Angaben 80,1 Prozent der Stimmen.",
    "Putin sagte Belarus einen Kredit über 1,5 Milliarden Dollar zu.",
    "What did Putin promise Lukashenko?",
    "Die Verteidigung der Panthers gab nur 308 Punkte ab und belegte den sechsten Platz in der Liga.",
    "Kurz.",
)
CALIBRATION = (
    "Die Polizei nahm am Sonntagabend in Minsk mehr als 3000 Menschen fest, teilte das Innenministerium mit.",
    "Der Präsident versprach Unterstützung, falls sich die Lage an der Grenze weiter verschärfen sollte.",
    "Nach Angaben der Wahlkommission lag die Beteiligung bei 84 Prozent; die Opposition sprach von Betrug.",
    "Die Europäische Union kündigte Sanktionen gegen Beamte an, die für die Gewalt verantwortlich sind.",
    "Am Rande des Treffens in Sotschi vereinbarten beide Seiten einen Kredit in Höhe von einer Milliarde Dollar.",
    "Tausende Arbeiter legten in mehreren staatlichen Betrieben die Arbeit nieder und forderten Neuwahlen.",
    "Die Oppositionspolitikerin verließ das Land nach der Wahl und lebt seitdem im Exil in Litauen.",
    "Beobachter der OSZE waren zu der Abstimmung nicht eingeladen worden.",
    "The central bank raised its key interest rate by half a percentage point on Thursday.",
    "Which city hosted the summit, and what did the two leaders agree on?",
    "How many people were detained during the protests after the election?",
    "Das Stadion fasst 75.000 Zuschauer und wurde 1972 für die Olympischen Spiele gebaut.",
    "Die Panther gewannen das Spiel mit 24 zu 10 und zogen damit ins Finale ein.",
    "title: none | text: Ein kurzer Satz.",
    "Moskau, 14. September (Reuters) - Russland und Belarus wollen enger zusammenarbeiten.",
    "Die Sicherheitskräfte setzten Blendgranaten, Gummigeschosse und Wasserwerfer ein.",
)
SMOOTH_ALPHA = 0.5


class ExportError(RuntimeError):
    """The int8 model could not be built or failed its check against the float model."""


def export_dir(cache: Path, source: Path) -> Path:
    """Where the export of ``source`` lives: named by the model, keyed by its path and weights."""
    weights = sorted(source.glob("*.safetensors")) + sorted(source.glob("*.bin"))
    key = "|".join([str(source.resolve()), EXPORT_VERSION] + [f"{w.name}:{w.stat().st_size}" for w in weights])
    return cache / f"{source.name}-int8-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def ensure_int8(source: Path, cache: Path, threads: int = 2) -> Path:
    """The verified int8 ONNX model file for ``source``, exporting it first if needed."""
    dest = export_dir(cache, source)
    if _complete(dest):
        return dest / MODEL_FILE
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / f".{dest.name}.lock"):
        if _complete(dest):
            return dest / MODEL_FILE
        print(f"preparing the int8 ONNX embedder in {dest} (once, a few minutes)", file=sys.stderr, flush=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name}-", dir=cache))
        try:
            meta = _export_in_child(source, tmp, threads)
            for f in tmp.iterdir():
                _fsync(f)
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
            _fsync(tmp / META_FILE)
            if dest.exists():
                shutil.rmtree(dest)
            tmp.chmod(0o755)
            os.replace(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _drop_older_exports(source, dest)
    return dest / MODEL_FILE


def _drop_older_exports(source: Path, dest: Path) -> list[Path]:
    """Remove this model's exports other than ``dest`` (an older version, older weights); returns them.

    Each is a 310 MB file nothing reads once a new one is in place (version 6 left a v5 folder).
    Only finished folders whose metadata names the same source are touched.
    """
    removed = []
    for folder in dest.parent.glob(f"{source.name}-int8-*"):
        try:
            meta = json.loads((folder / META_FILE).read_text())
        except (OSError, ValueError):
            continue
        if folder != dest and isinstance(meta, dict) and meta.get("source") == str(source.resolve()):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _export_in_child(source: Path, out: Path, threads: int) -> dict[str, object]:
    """``_export`` in a fresh Python whose string hashing is seeded (``PYTHONHASHSEED=0``); its metadata.

    transformers' Gemma3 forward walks ``set(config.layer_types)``, so the graph computed the two
    RoPE tables in an order set by the process's random hash seed: the same model, two files (two
    processes on one machine). A fixed seed gives one order. The child also takes torch and the
    float model's memory with it when it ends. Its output is kept, and only its last line of
    error is shown, as an ``ExportError``.
    """
    done = subprocess.run([sys.executable, "-m", "embeddings.onnx_export", str(source), str(out), str(threads)],
                          env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        errors = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        raise ExportError(f"int8 export of {source} failed: {errors[-1] if errors else 'no output'}")
    meta = json.loads(lines[-1])
    if not isinstance(meta, dict):
        raise ExportError(f"int8 export of {source} gave no metadata")
    return meta


def _complete(dest: Path) -> bool:
    """A finished export: metadata (written last) and a model file of the size it records.

    A model file cut short or replaced later fails the size check and is exported again.
    """
    try:
        meta = json.loads((dest / META_FILE).read_text())
        size = (dest / MODEL_FILE).stat().st_size
    except (OSError, ValueError):
        return False
    expected = meta.get("model_bytes") if isinstance(meta, dict) else None
    return expected is None or expected == size


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _export(source: Path, out: Path, threads: int) -> dict[str, object]:
    """Float export with torch, int8 quantization with ONNX Runtime, then the check; returns the metadata."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    model = SentenceTransformer(str(source), device="cpu", local_files_only=True).eval()
    rope_tables = _exact_rope_frequencies(model)

    class Pipeline(torch.nn.Module):
        """The whole sentence-transformers model as one tensor-in, tensor-out module."""

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = model({"input_ids": input_ids, "attention_mask": attention_mask})
            return out["sentence_embedding"], out["token_embeddings"]

    prompt = "document" if "document" in (model.prompts or {}) else None
    expected = model.encode(list(PROBES), prompt_name=prompt, normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)
    smoothed = _smooth_down_projections(model, list(CALIBRATION), prompt)
    wrapped = Pipeline().eval()
    sample = model.preprocess(["title: none | text: Hallo Welt, das ist ein Test.", "kurz"])
    ids, mask = sample["input_ids"], sample["attention_mask"]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    float_dir = out / "float"
    float_dir.mkdir()
    with torch.no_grad():
        program = torch.onnx.export(wrapped, (ids, mask), input_names=["input_ids", "attention_mask"],
                                    output_names=["sentence_vector", TOKEN_STATES], dynamo=True,
                                    dynamic_shapes={"input_ids": {0: batch, 1: seq},
                                                    "attention_mask": {0: batch, 1: seq}})
    if program is None:
        raise ExportError("torch.onnx.export returned no program")
    program.save(str(float_dir / "float.onnx"), external_data=True)
    from embeddings.onnx_embedder import OnnxEmbedder

    def build(reduce_range: bool) -> np.ndarray:
        quantized = float_dir / "int8.onnx"
        quantize_dynamic(str(float_dir / "float.onnx"), str(quantized), weight_type=QuantType.QInt8,
                         per_channel=True, reduce_range=reduce_range, op_types_to_quantize=["MatMul"],
                         use_external_data_format=False)
        tables.append(_int8_lookup_tables(quantized, out / MODEL_FILE))
        check = OnnxEmbedder(source, lambda: out / MODEL_FILE, "export-check", threads)
        return np.sum(check.embed_documents(list(PROBES)) * expected, axis=1)

    tables: list[int] = []
    reduce_range, cosines = quantize_checked(build, source)
    shutil.rmtree(float_dir)
    return {"source": str(source.resolve()), "export_version": EXPORT_VERSION, "vectors_version": VECTORS_VERSION,
            "torch": torch.__version__, "exact_rope_tables": rope_tables,
            "onnxruntime": onnxruntime.__version__, "reduce_range": reduce_range,
            "smoothed_layers": smoothed, "int8_tables": tables[-1],
            "model_bytes": (out / MODEL_FILE).stat().st_size,
            "probe_cosines": [round(float(c), 5) for c in cosines]}


def quantize_checked(build: Callable[[bool], np.ndarray], source: Path) -> tuple[bool, np.ndarray]:
    """Quantize with 7-bit weights on any CPU and check the probes; (reduce_range, cosines).

    ``build(reduce_range)`` writes the int8 model and returns the probes' cosines to float.
    """
    cosines = build(REDUCE_RANGE)
    if float(cosines.min()) >= MIN_COSINE:
        return REDUCE_RANGE, cosines
    raise ExportError(f"int8 export of {source} disagrees with the float model (cosine {float(cosines.min()):.3f} "
                      f"with 7-bit weights; at least {MIN_COSINE} needed)")


def _smooth_down_projections(model: Any, texts: list[str], prompt: str | None) -> int:
    """SmoothQuant the MLPs in place (``down(act(gate(x)) * up(x))``); returns how many were smoothed.

    Channel j of the down-projection's input is divided by s_j (through the up-projection's
    output row j) and its weight column multiplied by s_j, with s_j = amax(x_j)^a / amax(w_j)^(1-a)
    from activations on ``texts`` (see ``smoothing_scales``). In float the model computes the same function.
    """
    import torch

    mlps = [m for _, m in model.named_modules()
            if all(isinstance(getattr(m, k, None), torch.nn.Linear) for k in ("gate_proj", "up_proj", "down_proj"))]
    peaks = _activation_peaks(model, [mlp.down_proj for mlp in mlps], texts, prompt)
    with torch.no_grad():
        for mlp, peak in zip(mlps, peaks, strict=True):
            if peak is None:
                continue
            weight_peak = mlp.down_proj.weight.abs().amax(dim=0).to(torch.float64)
            s = smoothing_scales(peak, weight_peak).to(mlp.down_proj.weight.dtype)
            mlp.down_proj.weight.mul_(s[None, :])
            mlp.up_proj.weight.div_(s[:, None])
            if mlp.up_proj.bias is not None:
                mlp.up_proj.bias.div_(s)
    return sum(peak is not None for peak in peaks)


def _activation_peaks(model: Any, layers: list[Any], texts: list[str], prompt: str | None) -> list[Any]:
    """Per input channel of each of ``layers``, the largest |activation| on ``texts``, computed in float64.

    In float32 the peaks follow torch's kernels in their last bits: AVX-512, AVX2 and scalar kernels
    moved them by up to 2.9e-5 (relative) on the Intel Xeon, while EmbeddingGemma's channel closest
    to a power-of-two boundary of ``smoothing_scales`` sits 6.3e-6 (in log2) from it, so a move of
    8.7e-6 flips it; a CI machine's AVX2 export did differ. In float64, RoPE included (transformers
    takes its cos and sin in float32 whatever the model's dtype), the kernels moved them by at most
    5.4e-9, 1,600 times less than a flip needs (Gemma's norms still round through float32). The
    model goes back to float32 afterwards bit for bit (float32 -> float64 -> float32 is exact), and
    on that machine the exponents, and so the file, are the ones float32 calibration gave.
    """
    import torch

    peaks: list[Any] = [None] * len(layers)

    def hook(index: int) -> Any:
        def record(_module: Any, args: tuple[torch.Tensor, ...]) -> None:
            x = args[0].detach().abs().reshape(-1, args[0].shape[-1]).amax(dim=0)
            peaks[index] = x if peaks[index] is None else torch.maximum(peaks[index], x)
        return record

    dtype = next(model.parameters()).dtype
    handles = [layer.register_forward_pre_hook(hook(i)) for i, layer in enumerate(layers)]
    model.to(torch.float64)
    try:
        with _rope_in_float64(model), torch.no_grad():
            model.encode(texts, prompt_name=prompt, batch_size=4, show_progress_bar=False)
    finally:
        model.to(dtype)
        for handle in handles:
            handle.remove()
    return peaks


@contextmanager
def _rope_in_float64(model: Any) -> Iterator[int]:
    """Compute transformers' default RoPE tables in float64 for a while; yields how many modules were switched.

    Its rotary modules cast positions and frequencies to float32 and take cos and sin there, so a
    float64 model still saw the float32 kernels' last bits (peaks moved by 1.7e-6 between kernels).
    """
    import torch

    def forward(self: Any, x: torch.Tensor, position_ids: torch.Tensor, layer_type: str | None = None) -> Any:
        prefix = f"{layer_type}_" if layer_type else ""
        scaling = getattr(self, f"{prefix}attention_scaling", getattr(self, "attention_scaling", 1.0))
        freqs = position_ids[..., None].to(torch.float64) * getattr(self, f"{prefix}inv_freq").to(torch.float64)
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * scaling).to(x.dtype), (emb.sin() * scaling).to(x.dtype)

    switched = []
    for module in model.modules():
        prefixes = _default_rope_types(module) if type(module).__name__.endswith("RotaryEmbedding") else []
        if prefixes and all(isinstance(getattr(module, f"{p}inv_freq", None), torch.Tensor) for p in prefixes):
            switched.append(module)
    for module in switched:
        module.forward = forward.__get__(module)
    try:
        yield len(switched)
    finally:
        for module in switched:
            del module.forward


def _rope_tables(module: Any) -> list[tuple[str, Any]]:
    """A module's RoPE settings per table: (attribute prefix, ``""`` or ``"<layer type>_"``; its parameters).

    transformers keeps one parameter dict, or one per layer type (Gemma 3: sliding and full attention).
    """
    params = getattr(getattr(module, "config", None), "rope_parameters", None)
    if not isinstance(params, dict):
        return []
    per_type = {"": params} if "rope_type" in params else params
    return [(f"{t}_" if t else "", rope) for t, rope in per_type.items()]


def _default_rope_types(module: Any) -> list[str]:
    """The attribute prefixes of a module's RoPE tables, if all are plain RoPE."""
    tables = _rope_tables(module)
    if not all(isinstance(r, dict) and r.get("rope_type") == "default" for _, r in tables):
        return []
    return [prefix for prefix, _ in tables]


def _exact_rope_frequencies(model: Any) -> int:
    """Recompute default RoPE frequencies in float64; returns how many buffers were replaced.

    transformers computes them at load in float32 with torch's vectorised ``pow``, whose last bit
    depends on the CPU's kernels (with scalar kernels 1 of 128 values moved by one ulp in each of
    EmbeddingGemma's two tables, and the export with it). Rounded from float64, they are the same
    float32 values on every machine.
    """
    import torch

    replaced = 0
    for module in model.modules():
        for prefix, rope in _rope_tables(module):
            if not isinstance(rope, dict) or rope.get("rope_type") != "default" or "rope_theta" not in rope:
                continue
            config: Any = module.config
            dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
            base = float(rope["rope_theta"])
            exact = torch.tensor([1.0 / base ** (i / dim) for i in range(0, dim, 2)], dtype=torch.float64).float()
            for name in (f"{prefix}inv_freq", f"{prefix}original_inv_freq"):
                buffer = getattr(module, name, None)
                if isinstance(buffer, torch.Tensor) and buffer.shape == exact.shape \
                        and torch.allclose(buffer, exact, rtol=1e-5, atol=0):
                    buffer.copy_(exact)
                    replaced += 1
    return replaced


def smoothing_scales(act_peak: Any, weight_peak: Any) -> Any:
    """SmoothQuant's s_j = amax(x_j)^a / amax(w_j)^(1-a), rounded to the nearest power of two.

    The activation peaks come from a float forward pass whose last bits depend on the CPU's
    kernels (torch with AVX2 and with AVX-512 gave two different int8 files, so retrieval and the
    evaluation gates differed between an AMD and an Intel machine). A power of two moves only if
    a peak sits within those last bits of a rounding boundary, and scaling by it is exact in
    float, so the smoothed model computes bit for bit what the original does.
    """
    import torch

    s = (act_peak.clamp(min=1e-5) ** SMOOTH_ALPHA / weight_peak.clamp(min=1e-5) ** (1 - SMOOTH_ALPHA))
    return torch.exp2(torch.round(torch.log2(s.clamp(min=1e-3, max=1e3))))


def _int8_lookup_tables(path: Path, dest: Path, min_rows: int = 10_000) -> int:
    """Store large ``Gather`` tables (token embeddings) as int8 rows with a float scale each.

    The lookup gathers int8 rows and their scales and multiplies them back to float, so only
    the rows a batch uses are ever dequantized; a table two lookups share is stored once.
    Returns the number of tables rewritten.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    done: set[str] = set()
    for node in list(graph.node):
        init = inits.get(node.input[0]) if node.op_type == "Gather" else None
        if init is None or len(init.dims) != 2 or init.dims[0] < min_rows or init.data_type != onnx.TensorProto.FLOAT:
            continue
        if any(a.name == "axis" and a.i != 0 for a in node.attribute):
            continue
        base = init.name
        if base not in done:
            table = numpy_helper.to_array(init)
            scale = np.abs(table).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            codes = np.clip(np.rint(table / scale), -127, 127).astype(np.int8)
            graph.initializer.remove(init)
            graph.initializer.extend([numpy_helper.from_array(codes, f"{base}_int8"),
                                      numpy_helper.from_array(scale.astype(np.float32), f"{base}_scale")])
            done.add(base)
        out = node.output[0]
        at = list(graph.node).index(node)
        graph.node.remove(node)
        for offset, new in enumerate([
            helper.make_node("Gather", [f"{base}_int8", node.input[1]], [f"{out}_int8"], name=f"{node.name}_int8"),
            helper.make_node("Gather", [f"{base}_scale", node.input[1]], [f"{out}_scale"], name=f"{node.name}_scale"),
            helper.make_node("Cast", [f"{out}_int8"], [f"{out}_float"], name=f"{node.name}_cast",
                             to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [f"{out}_float", f"{out}_scale"], [out], name=f"{node.name}_dequantize"),
        ]):
            graph.node.insert(at + offset, new)
    without_build_traces(model)
    onnx.save(model, str(dest))
    return len(done)


def without_build_traces(model: Any) -> None:
    """Drop what the exporter wrote about its own run: every graph's, node's and value's notes.

    torch's exporter puts each node's Python stack trace in the file (absolute paths of this
    checkout and its venv, with line numbers: 3 MB of 313), so an edit above ``Pipeline.forward``
    or another install folder gave another file with the same numbers (a CI machine's second
    export differed in no tensor). Without the notes the file holds only what is computed.
    """
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for item in [graph, *graph.node, *graph.input, *graph.output, *graph.value_info, *graph.initializer]:
            item.doc_string = ""
            del item.metadata_props[:]
        graphs.extend(sub for node in graph.node for attr in node.attribute
                      for sub in [*([attr.g] if attr.HasField("g") else []), *attr.graphs])


if __name__ == "__main__":
    try:
        print(json.dumps(_export(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))))
    except Exception as exc:  # noqa: BLE001 - the parent shows this one line
        print(f"{type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        sys.exit(1)
