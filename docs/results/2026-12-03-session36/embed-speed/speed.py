"""Where the int8 embedder's time goes on this CPU: one-thread runs of GNAD sentences and passages.

Prints texts/s for sentences and passages, the fixed and per-token cost (a least-squares line through
run time against token count), and which operators the session runs most time in (ORT's profiler).
Usage: python speed.py [N_SENTENCES] [N_PASSAGES] [--profile]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from rag.chunk import split_sentences
from rag.eval.gnad import article_files
from rag.factory import build_embedder
from rag.parse import parse_file
from rag.settings import Settings

n_sent = int(sys.argv[1]) if len(sys.argv) > 1 else 300
n_pass = int(sys.argv[2]) if len(sys.argv) > 2 else 60
emb = build_embedder(Settings.from_env())
texts_s: list[str] = []
texts_p: list[str] = []
for f in article_files()[:200]:
    doc = parse_file(f)
    texts_s += [s.text for s in split_sentences(doc.text)]
    texts_p += [doc.text[i:i + 850] for i in range(0, len(doc.text) - 850, 850)]
texts_s, texts_p = texts_s[:n_sent], texts_p[:n_pass]
import onnxruntime as ort  # noqa: E402

print("onnxruntime", ort.__version__, "model", emb.model_id)
session = emb._open(1)
tok = emb._tokenizer_()
prompt = emb._prompts.get("document", "")
rows = []
for name, texts in (("sentences", texts_s), ("passages", texts_p)):
    ids = [e.ids for e in tok.encode_batch([prompt + t for t in texts])]
    emb._run(session, ids[0])
    started = time.perf_counter()
    for x in ids:
        t = time.perf_counter()
        emb._run(session, x)
        rows.append((len(x), time.perf_counter() - t))
    took = time.perf_counter() - started
    print(f"{name}: {len(texts)} texts, mean {np.mean([len(x) for x in ids]):.0f} tokens, "
          f"{len(texts) / took:.1f} texts/s on one thread")
n, s = np.array(rows).T
slope, icpt = np.polyfit(n, s, 1)
print(f"run time ~ {icpt * 1000:.2f} ms + {slope * 1000:.3f} ms/token")
if "--profile" in sys.argv:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.log_severity_level = 3
    prof = ort.InferenceSession(str(emb.locate()), options, providers=["CPUExecutionProvider"])
    for x in [e.ids for e in tok.encode_batch([prompt + t for t in texts_s[:100]])]:
        a = np.asarray([x], dtype=np.int64)
        prof.run(["sentence_vector"], {"input_ids": a, "attention_mask": np.ones_like(a)})
    profile = Path(prof.end_profiling())
    trace = json.loads(profile.read_text())
    profile.unlink()
    by_op: dict[str, float] = {}
    for ev in trace:
        if ev.get("cat") == "Node":
            op = ev.get("args", {}).get("op_name", "?")
            by_op[op] = by_op.get(op, 0.0) + ev.get("dur", 0) / 1000
    total = sum(by_op.values())
    for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {op:28s} {ms:8.1f} ms  {ms / total:.0%}")
