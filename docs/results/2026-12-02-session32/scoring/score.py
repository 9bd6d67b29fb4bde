"""Score stored answers' gold facts with whichever rag is on PYTHONPATH; print {set/design/id: (present, refused)}."""
import ast, json, sys
from rag.eval import metrics
from rag.eval.runner import load_qa

reports = {"seeds-tune": "/tmp/s30/evalA/report.json", "gates": "/tmp/ci30b/out/eval-answers/report.json",
           "xquad": "/tmp/s30/evalC/report.json"}
qa = {}
for path in ("rag/data/seeds_qa.jsonl", "rag/data/gnad_qa.jsonl"):
    for item in load_qa(__import__("pathlib").Path(path)):
        qa[item.id] = item
out = {}
for name, path in reports.items():
    for ds, block in json.load(open(path))["datasets"].items():
        for row in block["rows"]:
            refused = row["refused"] in (True, "True")
            if "xquad" in ds:
                facts = [row["gold"]]
            else:
                item = qa.get(row["id"])
                if item is None or not item.facts:
                    continue
                facts = item.facts
            present = all(metrics.fact_present(row["answer"], f) for f in facts)
            out[f"{ds}|{row['id']}"] = [present and not refused, refused, row["answer"][:140]]
json.dump(out, sys.stdout)
