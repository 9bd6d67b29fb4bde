import time, re, glob, sys
import numpy as np
from dataclasses import replace
from rag.settings import Settings
from rag.factory import build_embedder
files = sorted(glob.glob("/work/shared/gnad/articles/*.txt"))[:40]
text = " ".join(open(f).read() for f in files)
sents = [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20][:300]
passages = [text[i:i + 850] for i in range(0, 850 * 60, 850)]
res = {}
for threads in (2, 1):
    emb = build_embedder(replace(Settings.from_env(), threads=threads))
    emb.embed_documents(["warm up"])
    t = time.perf_counter(); vs = emb.embed_documents(sents); ts = time.perf_counter() - t
    t = time.perf_counter(); vp = emb.embed_documents(passages); tp = time.perf_counter() - t
    res[threads] = (vs, vp)
    print(f"threads={threads}: {len(sents)} sentences {ts:.1f} s ({len(sents)/ts:.1f}/s), {len(passages)} passages {tp:.1f} s ({len(passages)/tp:.1f}/s)", flush=True)
print("max abs diff sentences", float(np.abs(res[1][0] - res[2][0]).max()), "passages", float(np.abs(res[1][1] - res[2][1]).max()))
from concurrent.futures import ThreadPoolExecutor
e1 = build_embedder(replace(Settings.from_env(), threads=1)); e2 = build_embedder(replace(Settings.from_env(), threads=1))
e1.embed_documents(["warm"]); e2.embed_documents(["warm"])
for name, texts, ref in (("sentences", sents, res[2][0]), ("passages", passages, res[2][1])):
    t = time.perf_counter()
    with ThreadPoolExecutor(2) as ex:
        a, b = ex.map(lambda p: p[0].embed_documents(p[1]), [(e1, texts[0::2]), (e2, texts[1::2])])
    dt = time.perf_counter() - t
    out = np.empty_like(ref); out[0::2] = a; out[1::2] = b
    print(f"2 sessions x 1 thread: {name} {len(texts)/dt:.1f}/s, max abs diff {float(np.abs(out - ref).max())}")
