"""Export a sentence-transformers folder to int8 ONNX once, verified, into a cache folder.

The export needs torch and takes a couple of minutes, so it runs on first use (never at
import), under a file lock, in a temporary folder that is renamed into place only after the
int8 model has been checked against the float torch model. A finished export is reused.

The MLP down-projections stay in float: their inputs carry activation outliers that
per-tensor int8 activations cannot represent (mean cosine to float drops from 0.995 to 0.977
when they are quantized too), and they are only a fifth of the matrix work.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

EXPORT_VERSION = "1"
MODEL_FILE = "model.onnx"
META_FILE = "export.json"
MIN_COSINE = 0.98
PROBES = (
    "Lukaschenko erhielt nach offiziellen Angaben 80,1 Prozent der Stimmen.",
    "Putin sagte Belarus einen Kredit über 1,5 Milliarden Dollar zu.",
    "What did Putin promise Lukashenko?",
    "Die Verteidigung der Panthers gab nur 308 Punkte ab und belegte den sechsten Platz in der Liga.",
    "Kurz.",
)


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
        import sys

        print(f"preparing the int8 ONNX embedder in {dest} (once, a few minutes)", file=sys.stderr, flush=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name}-", dir=cache))
        try:
            meta = _export(source, tmp, threads)
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
    return dest / MODEL_FILE


def _complete(dest: Path) -> bool:
    return (dest / META_FILE).is_file() and (dest / MODEL_FILE).is_file()


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

    class Pipeline(torch.nn.Module):
        """The whole sentence-transformers model as one tensor-in, tensor-out module."""

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    wrapped = Pipeline().eval()
    sample = model.preprocess(["title: none | text: Hallo Welt, das ist ein Test.", "kurz"])
    ids, mask = sample["input_ids"], sample["attention_mask"]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    float_dir = out / "float"
    float_dir.mkdir()
    with torch.no_grad():
        program = torch.onnx.export(wrapped, (ids, mask), input_names=["input_ids", "attention_mask"],
                                    output_names=["sentence_vector"], dynamo=True,
                                    dynamic_shapes={"input_ids": {0: batch, 1: seq},
                                                    "attention_mask": {0: batch, 1: seq}})
    if program is None:
        raise ExportError("torch.onnx.export returned no program")
    program.save(str(float_dir / "float.onnx"), external_data=True)
    config = json.loads((source / "config.json").read_text())
    intermediate = int(config.get("intermediate_size") or config.get("text_config", {}).get("intermediate_size") or 0)
    keep_float = _down_projections(float_dir / "float.onnx", intermediate)
    quantize_dynamic(str(float_dir / "float.onnx"), str(out / MODEL_FILE), weight_type=QuantType.QInt8,
                     per_channel=True, op_types_to_quantize=["MatMul"], nodes_to_exclude=keep_float,
                     use_external_data_format=False)
    shutil.rmtree(float_dir)
    expected = model.encode(list(PROBES), prompt_name="document" if "document" in (model.prompts or {}) else None,
                            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    from embeddings.onnx_embedder import OnnxEmbedder

    check = OnnxEmbedder(source, lambda: out / MODEL_FILE, "export-check", threads)
    cosines = np.sum(check.embed_documents(list(PROBES)) * expected, axis=1)
    if float(cosines.min()) < MIN_COSINE:
        raise ExportError(f"int8 export of {source} disagrees with the float model "
                          f"(cosine {float(cosines.min()):.3f} < {MIN_COSINE})")
    return {"source": str(source.resolve()), "export_version": EXPORT_VERSION, "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__, "float_matmuls": len(keep_float),
            "probe_cosines": [round(float(c), 5) for c in cosines]}


def _down_projections(path: Path, intermediate: int) -> list[str]:
    """MatMul nodes whose weight maps the MLP's intermediate width back to the hidden width."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    return [n.name for n in graph.node
            if n.op_type == "MatMul" and len(shapes.get(n.input[1], ())) == 2 and shapes[n.input[1]][0] == intermediate]
