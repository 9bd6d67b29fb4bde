"""What self-consistency would change: shown sentences kept only where >= m of the K samples agree.

usage: sc_score.py ROWS.jsonl...   (rows from sc.py)
"""
import json
import sys

from rag.answer_text import split_answer
from rag.eval import metrics
from rag.focused import agrees


def covered(text, r):
    if "golds" in r:
        return any(metrics.fact_present(text, [g]) for g in r["golds"])
    return bool(r["facts"]) and metrics.facts_covered(text, r["facts"]) == 1.0


def score(rows, m, field="sentences", base_correct="correct", base_refused="refused"):
    right = wrong = 0
    changed = []
    for r in rows:
        sents = r[field]
        if r[base_refused] or not sents:
            right += r[base_correct]
            continue
        kept = [s for s in sents if sum(agrees(s, x, r["question"]) for x in r["samples"]) >= m]
        if not kept:
            if r[base_correct]:
                changed.append(("lost right", r["id"]))
            else:
                changed.append(("refused wrong", r["id"]))
            continue
        ok = r[base_correct] and (len(kept) == len(sents) or covered(" ".join(kept), r))
        if r[base_correct] and not ok:
            changed.append(("cut right", r["id"]))
        right += ok
        wrong += not ok
    return right, wrong, changed


for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path)]
    for r in rows:
        r["draft_sentences"] = [d.text for d in split_answer(r["draft"])] if r["draft"] else []
    n = len(rows)
    print(f"== {path} ({n} questions, K={len(rows[0]['samples'])})")
    for m in (0, 1, 2, 3):
        right, wrong, changed = score(rows, m)
        lost = sum(c[0] != "refused wrong" for c in changed)
        caught = sum(c[0] == "refused wrong" for c in changed)
        print(f"  checked, m={m}: correct {right}/{n} = {right / n:.3f}, answered-wrong {wrong}/{n} = {wrong / n:.3f}"
              f"  (right lost {lost}, wrong refused {caught})")
    for m in (0, 1, 2, 3):
        right, wrong, changed = score(rows, m, "draft_sentences", "correct_off", "unchecked_refused")
        print(f"  unchecked draft, m={m}: correct {right / n:.3f}, answered-wrong {wrong / n:.3f}")
