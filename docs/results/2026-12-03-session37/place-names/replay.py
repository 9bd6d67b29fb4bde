"""Replay the place_names step over recorded answers: which change, and does any score change."""
import json, sys
from rag.checks import Context
from rag.checks.place_names import place_names
from rag.eval import metrics
items = {}
for f in ("rag/data/seeds_qa.jsonl", "rag/data/gnad_qa.jsonl"):
    for line in open(f):
        d = json.loads(line); items[d["id"]] = d
out = {}
for path in sys.argv[1:]:
    r = json.load(open(path))
    for ds, block in r["datasets"].items():
        key = (ds)
        st = out.setdefault(key, {"english_answered": 0, "changed": 0, "score_changed": 0, "examples": []})
        for row in block["rows"]:
            if row.get("refused"):
                continue
            q = items.get(row["id"])
            lang = q["lang"] if q else "en"
            if lang != "en":
                continue
            st["english_answered"] += 1
            a = row["answer"]
            b = place_names(a, Context(row["question"], "en", []))
            if a == b:
                continue
            st["changed"] += 1
            st["examples"].append([path.split("/")[-2], row["id"], a, b])
            if q:
                facts = q.get("facts", [])
                c0 = metrics.facts_covered(a, facts); c1 = metrics.facts_covered(b, facts)
            else:
                c0 = any(metrics.fact_present(a, [g]) for g in row["gold"]); c1 = any(metrics.fact_present(b, [g]) for g in row["gold"])
            st["score_changed"] += c0 != c1
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
