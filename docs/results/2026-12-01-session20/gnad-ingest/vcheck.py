import numpy as np
from dataclasses import replace
from rag.settings import Settings
from rag.factory import build_embedder
from rag.store import Store
from pathlib import Path
import glob
s = Settings.from_env()
emb = build_embedder(s)
root = [str(s.home / "gnad-index-300-st-embeddinggemma-300m-onnx-int8-v3-solo")]
print(root[:5])
snap = Store(Path(root[0])).load()
p = snap.passages[:40]
texts = [x.text for x in p]
sids = [snap.sentence_ids[x.passage_id][0] for x in p]
stexts = [x.sentences[0].text for x in p]
v = emb.embed_documents(stexts)
stored = np.asarray(snap.sentence_vectors[sids], dtype=np.float32)
print("sentences max abs diff vs stored (float16):", float(np.abs(v - stored).max()), "side sessions:", len(emb._side))
