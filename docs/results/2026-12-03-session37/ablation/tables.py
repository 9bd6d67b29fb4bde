"""Table A (product, plain, unchecked) and the ablation table from session 37's reports."""
import json, sys
from rag.eval import metrics
items = {}
for f in ("rag/data/seeds_qa.jsonl", "rag/data/gnad_qa.jsonl"):
    for line in open(f):
        d = json.loads(line); items[d["id"]] = d
a = json.load(open("docs/results/2026-12-03-session37/ablation/abl1/report.json"))["datasets"]
x = json.load(open("docs/results/2026-12-03-session37/ablation/abl2/report.json"))["datasets"]
def f3(v): return "" if v is None else f"{v:.3f}"
def f2(v): return "" if v is None else f"{v:.2f}"
def t(ds):
    return ds["totals"]
def xq_t(ds):
    tt = dict(ds["totals"]["answers"])
    cs = sorted(r["timings"]["checked_s"] for r in ds["rows"] if r.get("timings", {}).get("checked_s") is not None)
    if cs:
        import statistics
        q = statistics.quantiles(cs, n=20, method="inclusive")
        tt["checked_s"] = {"p50": statistics.median(cs), "p95": q[18]}
    tt["verification"] = ds["totals"].get("verification")
    tt["ablation"] = ds["totals"].get("ablation", {})
    return tt
def cell(tt, xq=False):
    if xq:
        s = f"{f2(tt.get('exact_match', tt.get('contains_gold')))} / {f2(tt['answered_wrong'])}"
    else:
        s = f"{f3(tt['answer_correctness'])} / {f3(tt['answered_wrong'])}, {tt['unanswerable_refused']:.1f}"
    c = tt.get("checked_s")
    if isinstance(c, dict):
        s += f", {c['p50']:.1f} / {c['p95']:.1f} s"
    return s
print(json.dumps({k: list(v["totals"].keys()) for k, v in x.items()}))
rows = []
rows.append(("checked (the product)", cell(t(a["seeds-tune"])), cell(t(a["gnad"])), cell(xq_t(x["xquad"]), True)))
rows.append(("plain baseline", cell(t(a["seeds-tune/plain"])), cell(t(a["gnad/plain"])), cell(xq_t(x["xquad/plain"]), True) if "xquad/plain" in x else ""))
off = lambda tt, xq=False: (f"{f2(tt['verification']['off'].get('exact_match', tt['verification']['off'].get('contains_gold')))} / {f2(tt['verification']['off']['answered_wrong'])}" if xq else f"{f3(tt['verification']['off']['answer_correctness'])} / {f3(tt['verification']['off']['answered_wrong'])}, {tt['verification']['off']['unanswerable_refused']:.1f}")
rows.append(("the draft unchecked", off(t(a["seeds-tune"])), off(t(a["gnad"])), off(xq_t(x["xquad"]), True)))
print("| design | seeds-tune (24) | GNAD dev (65) | XQuAD sample (100) |\n|---|---|---|---|")
for r in rows: print("| " + " | ".join(r) + " |")
# ablation
def unt(rows_, name):
    out = []
    for r in rows_:
        ab = r.get("ablated", {}).get(name)
        if ab is None: continue
        lang = items[r["id"]]["lang"] if r["id"] in items else "en"
        out.append((lang, ab["answer"], ab["refused"]))
    return metrics.untranslated(out)
names = sorted(set(t(a["gnad"])["ablation"]) | set(x["xquad"]["totals"].get("ablation", {})))
print()
print("| check off | seeds-tune | GNAD dev | XQuAD sample | German words left in English answers (seeds-tune, GNAD, XQuAD) |\n|---|---|---|---|---|")
def ab(ds, name, xq=False):
    v = (xq_t(ds) if xq else t(ds)).get("ablation", {}).get(name)
    if v is None: return ""
    if xq: return f"{f2(v['contains_gold'])} / {f2(v['answered_wrong'])}"
    return f"{f3(v['answer_correctness'])} / {f3(v['answered_wrong'])}, {v['unanswerable_refused']:.1f}"
base_unt = [t(a["seeds-tune"])["untranslated"], t(a["gnad"])["untranslated"], xq_t(x["xquad"]).get("untranslated")]
print(f"| none (the product) | {cell(t(a['seeds-tune'])).rsplit(',',2)[0]} | {cell(t(a['gnad'])).rsplit(',',2)[0]} | {cell(xq_t(x['xquad']), True).split(',')[0]} | {', '.join(f3(u) for u in base_unt)} |")
for n in names:
    u = [unt(a["seeds-tune"]["rows"], n), unt(a["gnad"]["rows"], n), unt(x["xquad"]["rows"], n)]
    print(f"| {n} | {ab(a['seeds-tune'], n)} | {ab(a['gnad'], n)} | {ab(x['xquad'], n, True)} | {', '.join(f3(v) for v in u)} |")
