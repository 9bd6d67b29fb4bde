"""Experiment: MatMulNBits (per-row blockwise int8 activations) vs the shipped per-tensor dynamic int8."""
import os, sys, time, glob, random, re, json, shutil
from pathlib import Path
import numpy as np
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
torch.set_num_threads(2)
from sentence_transformers import SentenceTransformer
from rag.settings import Settings
from rag.models import resolve_embedder
import embeddings.onnx_export as ox
from embeddings.onnx_embedder import OnnxEmbedder

W = Path("/tmp/s22/nb"); W.mkdir(parents=True, exist_ok=True)
s = Settings()
source = resolve_embedder(s)
files = sorted(glob.glob('/work/shared/gnad/articles/*'))
random.seed(7)
sents, passages = [], []
for f in random.sample(files, 30):
    t = open(f, encoding='utf-8', errors='ignore').read()
    ss = [x.strip() for x in re.split(r'(?<=[.!?])\s+', t) if len(x.strip()) > 20]
    sents += ss
    for k in range(0, len(ss), 4):
        passages.append(" ".join(ss[k:k+4]))
sents = sents[:400]; passages = passages[:80]
texts = sents + passages
model = SentenceTransformer(str(source), device="cpu", local_files_only=True).eval()
prompt = "document"
if not (W / "ref.npy").exists():
    t0 = time.time()
    ref = model.encode(texts, prompt_name=prompt, normalize_embeddings=True, convert_to_numpy=True, batch_size=8)
    np.save(W / "ref.npy", ref); print("float ref", time.time() - t0, flush=True)
ref = np.load(W / "ref.npy")
fl = W / "float" / "float.onnx"
if not fl.exists():
    (W / "float").mkdir(exist_ok=True)
    ox._smooth_down_projections(model, list(ox.CALIBRATION), prompt)
    class Pipeline(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]
    wrapped = Pipeline().eval()
    sample = model.preprocess(["title: none | text: Hallo Welt, das ist ein Test.", "kurz"])
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    with torch.no_grad():
        program = torch.onnx.export(wrapped, (sample["input_ids"], sample["attention_mask"]),
                                    input_names=["input_ids", "attention_mask"], output_names=["sentence_vector"],
                                    dynamo=True, dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}})
    program.save(str(fl), external_data=True)
    print("float exported", flush=True)
del model

def variant(name):
    out = W / f"{name}.onnx"
    if out.exists():
        return out
    tmp = W / f"{name}-tmp.onnx"
    if name == "dyn":
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(str(fl), str(tmp), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         op_types_to_quantize=["MatMul"], use_external_data_format=False)
    else:
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer, DefaultWeightOnlyQuantConfig
        bits, block = {"nb8": (8, 32), "nb4": (4, 32), "nb8b128": (8, 128)}[name]
        m = onnx.load(str(fl))
        cfg = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=True, accuracy_level=4, bits=bits)
        q = MatMulNBitsQuantizer(m, algo_config=cfg)
        q.process()
        q.model.save_model_to_file(str(tmp), use_external_data_format=False)
    ox._int8_lookup_tables(tmp, out)
    tmp.unlink()
    return out

names = sys.argv[1:] or ["dyn", "nb8", "nb4"]
for name in names:
    path = variant(name)
    emb = OnnxEmbedder(source, lambda p=path: p, name, 2)
    tok = emb._tokenizer_()
    ids = [e.ids for e in tok.encode_batch([emb._prompts.get("document", "") + t for t in texts])]
    sess = emb._open(1)
    t0 = time.time(); solo = np.stack([emb._run(sess, r) for r in ids]); ts = time.time() - t0
    cos = (solo * ref).sum(1)
    line = f"{name}: size {path.stat().st_size/1e6:.0f} MB  solo 1-thread {ts:.1f}s  cos-to-float mean {cos.mean():.4f} min {cos.min():.4f}"
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for B in (8, 32):
        out = np.zeros_like(solo)
        t0 = time.time()
        k = 0
        while k < len(order):
            chunk = order[k:k+B]; k += B
            L = max(len(ids[i]) for i in chunk)
            x = np.zeros((len(chunk), L), np.int64); m = np.zeros_like(x)
            for j, i in enumerate(chunk):
                x[j, :len(ids[i])] = ids[i]; m[j, :len(ids[i])] = 1
            v = sess.run(None, {"input_ids": x, "attention_mask": m})[0]
            out[chunk] = v / np.linalg.norm(v, axis=1, keepdims=True)
        tb = time.time() - t0
        bc = (out * solo).sum(1)
        line += f" | B{B} {tb:.1f}s vs-solo min {bc.min():.6f}"
    print(line, flush=True)
