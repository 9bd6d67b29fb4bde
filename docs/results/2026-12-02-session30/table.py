"""Session 30's answer table: CI's gate-set report (checked) plus the tuning half, the plain rows and XQuAD."""
import json
import os

def load(path):
    return json.load(open(path))["datasets"] if os.path.exists(path) else {}

sections = {}
for path in ("/tmp/ci30b/out/eval-answers/report.json", "/tmp/s30/evalA/report.json", "/tmp/s30/evalB/report.json"):
    sections.update(load(path))
xquad = load("/tmp/s30/evalC/report.json")

def f(v):
    return "-" if v is None else ("%.3f" % v if isinstance(v, float) else str(v))

print("| set / design | correct | answered-wrong | unanswerable refused | cit. precision | untranslated | checked p50 / p95 s |")
print("|---|---|---|---|---|---|---|")
for name in ("seeds-tune", "seeds-gate", "gnad"):
    for sec in (name, name + "/plain"):
        if sec not in sections:
            continue
        t = sections[sec]["totals"]
        ck = t.get("checked_s") or {}
        print(f"| {sec} | {f(t.get('answer_correctness'))} | {f(t.get('answered_wrong'))} | "
              f"{f(t.get('unanswerable_refused'))} | {f(t.get('citation_precision'))} | {f(t.get('untranslated'))} | "
              f"{f(ck.get('p50'))} / {f(ck.get('p95'))} |")
        if "verification" in t and sec == name:
            o = t["verification"]["off"]
            print(f"| {sec}, draft unchecked | {f(o.get('answer_correctness'))} | {f(o.get('answered_wrong'))} | | | "
                  f"{f(o.get('untranslated'))} | |")
for sec in xquad:
    t = xquad[sec]["totals"]
    an = t.get("answers") or {}
    ts = sorted(t2 for t2 in ((r.get("timings") or {}).get("checked_s") for r in xquad[sec].get("rows", [])) if t2)
    ck = {"p50": ts[len(ts) // 2], "p95": ts[int(0.95 * (len(ts) - 1))]} if ts else {}
    print(f"| {sec} (contains gold) | {f(an.get('contains_gold'))} | {f(an.get('answered_wrong'))} | refused {f(an.get('refused'))} | "
          f"{f(an.get('citation_precision'))} | {f(an.get('untranslated'))} | {f(ck.get('p50'))} / {f(ck.get('p95'))} |")
    if "verification" in t and sec == "xquad":
        o = t["verification"]["off"]
        print(f"| {sec}, draft unchecked | {f(o.get('contains_gold'))} | {f(o.get('answered_wrong'))} | | | {f(o.get('untranslated'))} | |")
