"""Decontextualised in-passage sentence vectors: s' = unit(s_in - lam * p). XQuAD: recall and gold-sentence picks."""
import dataclasses, json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, '/work/main')
from rag.settings import Settings
from rag.factory import build_embedder
from rag.store import Store
from rag.retrieve import Retriever
from rag.eval import metrics

home = Path('/root/.cache/rag')
alone = Store(home / 'xquad-index-st-embeddinggemma-300m-onnx-int8-v4-solo').load()
inp = Store(home / 'xquad-index-st-embeddinggemma-300m-onnx-int8-v4-solo-in-passage').load()
assert len(alone.passages) == len(inp.passages)
emb = build_embedder(Settings.from_env())
qs = [json.loads(l) for l in open('/work/shared/xquad/xquad_en_de_questions.dev.jsonl')]
sents = {json.loads(l)['id']: json.loads(l)['text'] for l in open('/work/shared/xquad/xquad_de_sentences.dev.jsonl')}
qv = emb.embed_queries([q['question_en'] for q in qs])
owners = inp.sentence_ids.owners()
n_s = len(inp.sentence_vectors)
S_in = np.asarray(inp.sentence_vectors[np.arange(n_s)], np.float32)
S_al = np.asarray(alone.sentence_vectors[np.arange(n_s)], np.float32)
P = inp.passage_index.vectors(np.arange(len(inp.passages)))
PS = P[np.asarray(owners)]

def gold_sid(snap, q):
    g = sents.get(q['gold_sentence_id_de'], '')
    best = None
    for pid in range(len(snap.passages)):
        p = snap.passages[pid]
        if p.doc_id != q['gold_passage_id']:
            continue
        for sid, s in zip(snap.sentence_ids[pid], p.sentences):
            if s.text.strip() and (s.text.strip() in g or g[:40] in s.text):
                return pid, sid
    return None

golds = [gold_sid(inp, q) for q in qs]
print('gold sentences found', sum(g is not None for g in golds), 'of', len(qs), flush=True)

class View:
    def __init__(self, base, vecs): self.base, self.sentence_vectors = base, vecs
    def __getattr__(self, k): return getattr(self.base, k)

def measure(name, S):
    r = Retriever(View(inp, S), emb)
    ranks, within, evid = [], [], []
    for q, v, g in zip(qs, qv, golds):
        hits, _, _ = r.search(q['question_en'], top_k=50, mode='hybrid', qvec=v)
        docs = list(dict.fromkeys(h.passage.doc_id for h in hits))
        ranks.append(metrics.first_rank(docs, [q['gold_passage_id']]))
        if g is None: continue
        pid, sid = g
        ids = list(inp.sentence_ids[pid])
        within.append(ids[int(np.argmax(S[ids] @ v))] == sid)
        top = [h.passage.passage_id for h in hits[:4]]
        evid.append(any(ids2[int(np.argmax(S[ids2] @ v))] == sid for ids2 in [list(inp.sentence_ids[t]) for t in top]))
    m = metrics.retrieval_metrics(ranks)
    print(f"{name:14s} recall@1 {m['recall@1']:.3f} @5 {m['recall@5']:.3f} mrr {m['mrr']:.3f} | gold sentence first in its passage {np.mean(within):.3f} | gold sentence is a top-4 passage's pick {np.mean(evid):.3f}", flush=True)

measure('alone', S_al)
measure('in-passage', S_in)
for lam in (0.2, 0.35, 0.5, 0.7):
    D = S_in - lam * PS
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    measure(f'decon {lam}', D)
