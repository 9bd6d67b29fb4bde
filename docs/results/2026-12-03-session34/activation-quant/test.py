import time, glob, random, sys
import numpy as np
from pathlib import Path
sys.path.insert(0, "/work/main")
from embeddings.onnx_embedder import OnnxEmbedder, _unit
from rag.chunk import split_sentences
src = Path("/root/.cache/rag/models/embeddinggemma-300m")
cur = Path("/root/.cache/rag/models/onnx/embeddinggemma-300m-int8-69b205d4ce83/model.onnx")
new = Path("/tmp/s34/pt/model.onnx")
files = sorted(glob.glob("/work/shared/gnad/articles/*"))
random.Random(1).shuffle(files)
sents = []
for f in files[:40]:
    for s in (x.text for x in split_sentences(open(f).read())):
        if len(s) > 20: sents.append(s)
sents = sents[:600]
print(len(sents), "sentences")
A = OnnxEmbedder(src, lambda: cur, "cur", 2)
B = OnnxEmbedder(src, lambda: new, "new", 2)
t = time.perf_counter(); va = A.embed_documents(sents); ta = time.perf_counter() - t
t = time.perf_counter(); vb = B.embed_documents(sents); tb = time.perf_counter() - t
print("solo: cur %.1fs new %.1fs" % (ta, tb))
print("cos cur-new mean %.4f min %.4f" % ((va*vb).sum(1).mean(), (va*vb).sum(1).min()))
# batched equal-length buckets on new
tok = B._tokenizer_(); prompt = B._prompts.get("document", "")
ids = [e.ids for e in tok.encode_batch([prompt + s for s in sents])]
by = {}
for i, x in enumerate(ids): by.setdefault(len(x), []).append(i)
sess = B._sessions(2)
def run_batch(session, idxs):
    arr = np.asarray([ids[i] for i in idxs], dtype=np.int64)
    out = session.run(["sentence_vector"], {"input_ids": arr, "attention_mask": np.ones_like(arr)})[0]
    return idxs, out
jobs = []
for L, idxs in by.items():
    for k in range(0, len(idxs), 32): jobs.append(idxs[k:k+32])
from concurrent.futures import ThreadPoolExecutor
t = time.perf_counter()
vbb = np.zeros_like(vb)
with ThreadPoolExecutor(2) as pool:
    parts = list(pool.map(lambda j: [run_batch(sess[j], jobs[k]) for k in range(j, len(jobs), 2)], range(2)))
for part in parts:
    for idxs, out in part:
        for i, v in zip(idxs, out): vbb[i] = _unit(np.asarray(v, np.float32))
tbb = time.perf_counter() - t
print("new batched by length: %.1fs, %d batches; identical rows %d/%d; min cos %.7f" % (tbb, len(jobs), sum(np.array_equal(a, b) for a, b in zip(vb, vbb)), len(vb), (vb*vbb).sum(1).min()))
np.save("/tmp/s34/pt/sents_cur.npy", va); np.save("/tmp/s34/pt/sents_new.npy", vb)
import json; json.dump(sents, open("/tmp/s34/pt/sents.json", "w"))
