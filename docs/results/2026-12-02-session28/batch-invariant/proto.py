"""Prototype: batched runs on the batch-invariant graph, patched into OnnxEmbedder."""
import numpy as np
from pathlib import Path
from embeddings import onnx_embedder
from embeddings.onnx_embedder import OnnxEmbedder, _unit

MAX_TEXTS, MAX_TOKENS = 8, 768

def plan(lengths):
    order = sorted(range(len(lengths)), key=lambda k: lengths[k])
    out, cur = [], []
    for k in order:
        if cur and (len(cur) >= MAX_TEXTS or (len(cur) + 1) * lengths[k] > MAX_TOKENS):
            out.append(cur); cur = []
        cur.append(k)
    if cur: out.append(cur)
    return out

def run_batch(session, batch):
    L = max(len(i) for i in batch)
    ids = np.zeros((len(batch), L), np.int64); mask = np.zeros_like(ids)
    for r, i in enumerate(batch):
        ids[r, :len(i)] = i; mask[r, :len(i)] = 1
    vec = session.run(["sentence_vector"], {"input_ids": ids, "attention_mask": mask})[0]
    return [_unit(np.asarray(v, dtype=np.float32)) for v in vec]

def _encode(self, texts, prompt):
    if not texts:
        return np.zeros((0, self.dimension), dtype=np.float32)
    ids = [e.ids for e in self._tokenizer_().encode_batch([prompt + t for t in texts])]
    batches = plan([len(i) for i in ids])
    got = self._spread(len(batches), lambda session, k: run_batch(session, [ids[i] for i in batches[k]]))
    out = [None] * len(ids)
    for b, vs in zip(batches, got):
        for k, v in zip(b, vs):
            out[k] = v
    return np.stack(out)

def patch(model: Path):
    OnnxEmbedder._encode = _encode
    return model
