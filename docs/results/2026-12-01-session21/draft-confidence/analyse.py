import json, sys, math
import numpy as np
def feats(r):
    p = [a for a, _ in r["probs"]] or [1.0]
    m = [b for _, b in r["probs"]] or [1.0]
    return {"min_p": min(p), "mean_logp": float(np.mean(np.log(p))), "geo": math.exp(float(np.mean(np.log(p)))),
            "min_margin": min(m), "p10": float(np.percentile(p, 10)), "first3": float(np.mean(np.log(p[:3])))}
def auc(pos, neg):
    if not pos or not neg: return float("nan")
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
for f in sys.argv[1:]:
    rows = [json.loads(l) for l in open(f)]
    ans = [r for r in rows if not r.get("floor") and not r["refused"]]
    ok = [r for r in ans if r["ok"]]; bad = [r for r in ans if not r["ok"]]
    print(f"{f}: n={len(rows)} answered={len(ans)} ok={len(ok)} wrong={len(bad)}")
    for k in ["min_p", "mean_logp", "min_margin", "p10", "first3"]:
        po = [feats(r)[k] for r in ok]; ne = [feats(r)[k] for r in bad]
        print(f"   {k:10s} AUC {auc(po, ne):.3f}")
    # draft-level (unchecked) too
    d = [r for r in rows if not r.get("floor") and not r["draft_refused"]]
    po = [feats(r)["mean_logp"] for r in d if r["draft_ok"]]; ne = [feats(r)["mean_logp"] for r in d if not r["draft_ok"]]
    print(f"   draft-level mean_logp AUC {auc(po, ne):.3f} (ok {len(po)}, wrong {len(ne)})")
