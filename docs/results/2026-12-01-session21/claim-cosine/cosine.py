"""Claim-to-quote closeness (the embedder's cosine) as a verifier on the labelled judge pairs, per set."""
import json, sys, collections
import numpy as np
sys.path.insert(0, "/work/main")
from rag.settings import Settings
from rag.factory import build_embedder
rows = [json.loads(l) for l in open('/work/main/rag/data/judge_pairs.jsonl')]
emb = build_embedder(Settings.from_env())
A = emb.embed_queries([r["answer"] for r in rows])
Q = emb.embed_queries([r["question"] for r in rows])
S = emb.embed_documents([r["source"] for r in rows])
cos = (A * S).sum(1); qcos = (Q * S).sum(1); gain = cos - qcos
def auc(pos, neg):
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg)) if pos and neg else float('nan')
for name, x in [("cos(answer, source)", cos), ("cos(answer,source) - cos(question,source)", gain)]:
    for ds in [None, "seeds-tune", "gnad", "xquad"]:
        idx = [i for i, r in enumerate(rows) if ds is None or r["dataset"].startswith(ds)]
        pos = [x[i] for i in idx if rows[i]["label"]]; neg = [x[i] for i in idx if not rows[i]["label"]]
        print(f"{name:45s} {ds or 'all':10s} AUC {auc(pos, neg):.3f} (n={len(idx)})")
py = np.array([r["p_yes"] for r in rows])
for ds in [None, "seeds-tune", "gnad", "xquad"]:
    idx = [i for i, r in enumerate(rows) if ds is None or r["dataset"].startswith(ds)]
    print(f"{'judge p_yes':45s} {ds or 'all':10s} AUC {auc([py[i] for i in idx if rows[i]['label']], [py[i] for i in idx if not rows[i]['label']]):.3f}")
print(collections.Counter(r["dataset"] for r in rows))
