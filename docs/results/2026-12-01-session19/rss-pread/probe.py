"""A fresh process on the index: load, 3 rounds of the bench's 100 queries, then RSS and latency.
Run with PYTHONPATH=<code>; argv: index, queries.npz, faiss mode (mmap|read)."""
import sys
import hashlib
import time
from pathlib import Path

import numpy as np

from embeddings.index import FaissIndex
from rag.bench import archive
from rag.retrieve import Retriever
from rag.snapshot import SentenceVectors

root, qfile, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
if mode == "read":
    load = FaissIndex.load.__func__
    FaissIndex.load = classmethod(lambda cls, path, mmap=False: load(cls, path, mmap=False))
rows_t: list[float] = []
real_rows = SentenceVectors.rows


def rows(self, ids):
    t = time.perf_counter()
    out = real_rows(self, ids)
    rows_t.append(time.perf_counter() - t)
    return out


SentenceVectors.rows = rows
q = archive.Queries.load(qfile)
snap = archive.Store(root).load()
r = Retriever(snap, archive.StandIn(snap.manifest.embedder, snap.manifest.dimension))
times, found = [], []
for round_ in range(3):
    for text, v in zip(q.texts, q.vectors, strict=True):
        t = time.perf_counter()
        hits, _, _ = r.search(text, archive.TOP_K, qvec=v)
        times.append(time.perf_counter() - t)
        if round_ == 0:
            found.append([h.passage.passage_id for h in hits])
_, ids = snap.passage_index.search(q.vectors, 10)
mem, by_file = archive._memory(), archive.mapped_rss()
ms = 1000 * np.array(times)
print(f"{mode}: RSS peak {mem['VmHWM']/1e9:.3f} now {mem['VmRSS']/1e9:.3f} anon {mem['RssAnon']/1e9:.3f} "
      f"file {mem['RssFile']/1e9:.3f} {({k: round(v/1e9, 3) for k, v in by_file.items()})}; search p50/p95 "
      f"{np.percentile(ms, 50):.1f}/{np.percentile(ms, 95):.1f} ms; sentence rows p50/p95 "
      f"{1000*np.percentile(rows_t, 50):.2f}/{1000*np.percentile(rows_t, 95):.2f} ms; "
      f"hits digest {hashlib.md5(str(found).encode()).hexdigest()[:8]} dense ids digest {hashlib.md5(ids.tobytes()).hexdigest()[:8]}")
