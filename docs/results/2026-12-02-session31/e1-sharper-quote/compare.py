"""Session 31: E1 (a rejected pick gives way to a sharper sentence of its passage) against session 30's code, per set and per item."""
import json, os, sys
def load(p): return json.load(open(p))["datasets"] if os.path.exists(p) else {}
base = {**load("/tmp/s30/evalA/report.json"), **load("/tmp/ci30b/out/eval-answers/report.json"), **load("/tmp/s30/evalC/report.json")}
exp = {**load(sys.argv[1] if len(sys.argv) > 1 else "/tmp/s31/expA-sg/report.json"), **load(sys.argv[2] if len(sys.argv) > 2 else "/tmp/s31/expA-x/report.json")}
def f(v): return "-" if v is None else ("%.3f" % v if isinstance(v, float) else str(v))
def outcome(r):
    if "contains_gold" in r: ok = r["contains_gold"]
    else: ok = r.get("correct")
    if r["refused"]: return "refused"
    if r.get("answerable") is False: return "wrong"
    return "right" if ok else "wrong"
for name in ("seeds-tune", "gnad", "xquad"):
    if name not in exp or name not in base: continue
    for label, d in (("session 30", base[name]), ("E1", exp[name])):
        t = d["totals"]; t = t.get("answers", t) if name == "xquad" else t
        corr = t.get("answer_correctness", t.get("contains_gold"))
        rows = d["rows"]; ts = sorted(r["timings"]["checked_s"] for r in rows if (r.get("timings") or {}).get("checked_s"))
        print(f"| {name} | {label} | {f(corr)} | {f(t.get('answered_wrong'))} | {f(t.get('unanswerable_refused', t.get('refused')))} | {f(t.get('citation_precision'))} | {ts[len(ts)//2]:.1f} / {ts[int(0.95*(len(ts)-1))]:.1f} |")
    b = {r["id"]: r for r in base[name]["rows"]}
    for r in exp[name]["rows"]:
        o, n = outcome(b[r["id"]]), outcome(r)
        if o != n: print(f"    {r['id']}: {o} -> {n} | {r['question'][:70]} | {r['answer'][:110]}")
