import time, glob, numpy as np
from rag.settings import Settings
from rag.factory import build_embedder
from rag.chunk import chunk_document
from rag.types import Document
e = build_embedder(Settings())
ps = []
for f in sorted(glob.glob('/work/shared/gnad/articles/*'))[:40]:
    ps += chunk_document(Document(doc_id='x', path='', text=open(f).read(), title=''), 500)
ps = ps[:200]
texts = [p.text for p in ps]; spans = [[(s.start - p.start, s.end - p.start) for s in p.sentences] for p in ps]
e.embed_documents(texts[:4])
t0 = time.time(); e.embed_documents(texts); t1 = time.time(); e.embed_passages(texts, spans); t2 = time.time()
e.embed_documents([s.text for p in ps for s in p.sentences]); t3 = time.time()
print(f"{len(ps)} passages: embed_documents {t1-t0:.1f}s, embed_passages {t2-t1:.1f}s, sentences alone {t3-t2:.1f}s ({sum(map(len,spans))})")
tok = e._tokenizer_(); pr = e._prompts.get("document", "")
enc = tok.encode_batch([pr + t for t in texts])
s = e._session_()
for outs in (["sentence_vector"], ["sentence_vector", "token_states"]):
    t0 = time.time()
    for en in enc:
        ids = np.asarray([en.ids], np.int64)
        s.run(outs, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    print(outs, f"{time.time()-t0:.2f}s")
t0 = time.time()
for en, sp in zip(enc, spans):
    offs = en.offsets
    for a, b in sp:
        rows = [i for i, (x, y) in enumerate(offs) if y > x and x < len(pr) + b and y > len(pr) + a]
print("python offsets", f"{time.time()-t0:.2f}s")
