"""Scores of probe.py's per-passage variants beside the product's recorded answers (same code, same CPU).

Variants: ``first`` the first passage's reply that answers, unchecked; ``first+checks`` that reply
through the product's checks; ``two+checks`` the first of the first two answering replies the checks
pass. Latency as a reader would wait: retrieval, the reads up to the reply used, its checks.
Usage: python score.py SET PROBE.jsonl PRODUCT
PRODUCT: ``product-s35.json`` (the default checks' answers and drafts of session 35's eval, taken from
its report.json) for seeds-tune and gnad; session 35's ``xquad-tune-probe/probe.jsonl`` for xquad-tune.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from rag.eval import metrics
from rag.eval.runner import corpus_numbers, load_qa
from rag.store import Store

name, probe_path, product_path = sys.argv[1:4]
rows = [json.loads(line) for line in Path(probe_path).read_text().splitlines()]
home = Path.home() / ".cache/rag"
if name == "xquad-tune":
    product = {r["id"]: r for r in map(json.loads, Path(product_path).read_text().splitlines())}
    gold = {r["id"]: r["gold"] for r in product.values()}

    def correct(qid: str, answer: str, refused: bool) -> bool:
        return not refused and any(metrics.fact_present(answer, [g]) for g in gold[qid])

    def answerable(qid: str) -> bool:
        return True

    prod = {q: (r["answer"], r["refused"], r["draft"]) for q, r in product.items()}
else:
    from importlib import resources

    qa = load_qa(resources.files("rag.data").joinpath("gnad_qa.jsonl")) if name == "gnad" else load_qa()
    items = {q.id: q for q in qa}
    index = next(home.glob("gnad-index-300-*" if name == "gnad" else "seeds-index-*"))
    nums = corpus_numbers(Store(index).load().documents)

    def correct(qid: str, answer: str, refused: bool) -> bool:
        q = items[qid]
        return q.answerable and metrics.is_correct(answer, refused, q.facts, nums, q.question, q.kind != "synthesis")

    def answerable(qid: str) -> bool:
        return items[qid].answerable

    rec = json.loads(Path(product_path).read_text())[name]
    prod = {q: (r["answer"], r["refused"], r["draft"]) for q, r in rec.items()}


def figures(outcomes: list[tuple[str, str, bool]], times: list[float]) -> str:
    n = len(outcomes)
    right = sum(correct(q, a, ref) for q, a, ref in outcomes)
    answerable_n = sum(answerable(q) for q, _, _ in outcomes)
    wrong = sum(not ref and not correct(q, a, ref) for q, a, ref in outcomes)
    unans = [q for q, _, _ in outcomes if not answerable(q)]
    refused_unans = sum(ref for q, _, ref in outcomes if not answerable(q))
    t = sorted(times)
    p = f" | {statistics.median(t):.1f} / {t[int(0.95 * (len(t) - 1))]:.1f}" if t else " | |"
    refused = f"{refused_unans}/{len(unans)}" if unans else "-"
    return f"{right / answerable_n:.3f} | {wrong / n:.3f} | {refused}{p}"


print(f"### {name} ({len(rows)} questions)\n")
print("| design | correct (of answerable) | answered-wrong | unanswerable refused | p50 / p95 s |")
print("|---|---|---|---|---|")
print("| product draft, unchecked | " + figures([(r["id"], prod[r["id"]][2], not prod[r["id"]][2]
                                                  or prod[r["id"]][2].startswith(("The articles don't say",
                                                                                  "Die Artikel sagen")))
                                                 for r in rows], []) + " |")
print("| product, checked | " + figures([(r["id"], prod[r["id"]][0], prod[r["id"]][1]) for r in rows], []) + " |")
for label, pick in (("first", "u"), ("first+checks", "c1"), ("two+checks", "c2")):
    out, times = [], []
    for r in rows:
        reads = r["reads"]
        answering = [i for i, x in enumerate(reads) if not x["idk"]]
        t = r["retrieve_s"]
        if pick == "u":
            if answering:
                i = answering[0]
                out.append((r["id"], reads[i]["reply"], False))
                t += sum(x["s"] for x in reads[: i + 1])
            else:
                out.append((r["id"], "", True))
                t += sum(x["s"] for x in reads)
        else:
            tries = r["checked"][: 1 if pick == "c1" else 2]
            hit = next((c for c in tries if not c["refused"]), None)
            used = tries.index(hit) if hit is not None else len(tries) - 1
            if tries:
                last = answering[used]
                t += sum(x["s"] for x in reads[: last + 1]) + sum(c["s"] for c in tries[: used + 1])
            else:
                t += sum(x["s"] for x in reads)
            out.append((r["id"], hit["answer"] if hit else "", hit is None))
        times.append(t)
    print(f"| per passage, {label} | " + figures(out, times) + " |")
for label, k in (("together, then each if refused (first+checks)", 1),
                 ("together, then each if refused (two+checks)", 2)):
    out = []
    for r in rows:
        a, ref, _ = prod[r["id"]]
        if ref:
            hit = next((c for c in r["checked"][:k] if not c["refused"]), None)
            a, ref = (hit["answer"], False) if hit else (a, True)
        out.append((r["id"], a, ref))
    print(f"| {label} | " + figures(out, []) + " |")
