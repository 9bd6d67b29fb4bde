# Run as: speed.py MODEL.onnx [--with-current]   (per-token rewrite: /tmp/s34/pt/model.onnx --with-current; MatMulNBits: the file quant.py wrote)
import time, glob, random, sys, json
import numpy as np
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, "/work/main")
from embeddings.onnx_embedder import OnnxEmbedder, _unit
from rag.chunk import split_sentences
src = Path("/root/.cache/rag/models/embeddinggemma-300m")
cur = Path("/root/.cache/rag/models/onnx/embeddinggemma-300m-int8-69b205d4ce83/model.onnx")
new = Path(sys.argv[1])
sents = json.load(open("/tmp/s34/pt/sents.json"))
files = sorted(glob.glob("/work/shared/gnad/articles/*")); random.Random(2).shuffle(files)
passages = []
for f in files[:30]:
    t = open(f).read()
    for k in range(0, len(t), 600): passages.append(t[k:k+600])
passages = passages[:150]
def batched(E, texts, maxb=32, pad=False):
    tok = E._tokenizer_(); prompt = E._prompts.get("document", "")
    ids = [e.ids for e in tok.encode_batch([prompt + s for s in texts])]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    jobs = []
    if pad:
        cur_job = []
        for i in order:
            if cur_job and (len(cur_job) >= maxb or len(ids[i]) > 1.1 * len(ids[cur_job[0]]) + 2):
                jobs.append(cur_job); cur_job = []
            cur_job.append(i)
        jobs.append(cur_job)
    else:
        by = {}
        for i in order: by.setdefault(len(ids[i]), []).append(i)
        for L, idxs in by.items():
            for k in range(0, len(idxs), maxb): jobs.append(idxs[k:k+maxb])
    sess = E._sessions(2)
    def run(session, idxs):
        L = max(len(ids[i]) for i in idxs)
        arr = np.zeros((len(idxs), L), np.int64); mask = np.zeros_like(arr)
        for r, i in enumerate(idxs): arr[r, :len(ids[i])] = ids[i]; mask[r, :len(ids[i])] = 1
        return idxs, session.run(["sentence_vector"], {"input_ids": arr, "attention_mask": mask})[0]
    out = np.zeros((len(ids), E.dimension), np.float32)
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(lambda j: [run(sess[j], jobs[k]) for k in range(j, len(jobs), 2)], range(2)))
    for part in parts:
        for idxs, o in part:
            for i, v in zip(idxs, o): out[i] = _unit(np.asarray(v, np.float32))
    return out, len(jobs)
for name, path in ([("cur", cur)] if len(sys.argv) > 2 else []) + [("new", new)]:
    E = OnnxEmbedder(src, lambda p=path: p, name, 2)
    E.embed_documents(sents[:4])
    for label, texts in [("sentences", sents), ("passages", passages)]:
        t = time.perf_counter(); solo = E.embed_documents(texts); ts = time.perf_counter() - t
        msg = f"{name} {label} ({len(texts)}): solo {ts:.1f}s ({len(texts)/ts:.1f}/s)"
        if name == "new":
            for pad, maxb in [(False, 32), (True, 8), (True, 16)] if label == "passages" else [(False, 32), (False, 64), (True, 32)]:
                t = time.perf_counter(); vb, nj = batched(E, texts, maxb, pad); tb = time.perf_counter() - t
                c = (vb * solo).sum(1)
                msg += f" | pad={pad} maxb={maxb}: {tb:.1f}s ({len(texts)/tb:.1f}/s, {nj} runs) min cos to solo {c.min():.7f}"
        print(msg, flush=True)
fl = np.load("/tmp/s34/pt/sents_float.npy")
E = OnnxEmbedder(src, lambda: new, "x", 2)
v = E.embed_documents(sents)
c = (v * fl).sum(1); print("cos to float mean %.4f min %.4f" % (c.mean(), c.min()))
