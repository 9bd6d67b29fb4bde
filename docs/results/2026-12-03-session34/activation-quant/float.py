import json, numpy as np, torch
torch.set_num_threads(2)
from sentence_transformers import SentenceTransformer
m = SentenceTransformer("/root/.cache/rag/models/embeddinggemma-300m", device="cpu", local_files_only=True)
sents = json.load(open("/tmp/s34/pt/sents.json"))
v = m.encode(sents, prompt_name="document", normalize_embeddings=True, batch_size=16)
np.save("/tmp/s34/pt/sents_float.npy", v)
a = np.load("/tmp/s34/pt/sents_cur.npy"); b = np.load("/tmp/s34/pt/sents_new.npy")
for name, x in [("cur per-tensor", a), ("new per-token", b)]:
    c = (x * v).sum(1); print(name, "cos to float mean %.4f min %.4f" % (c.mean(), c.min()))
