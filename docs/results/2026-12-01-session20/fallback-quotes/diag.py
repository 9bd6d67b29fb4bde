"""Replay report drafts through the checker; print each grounding, quote and focused read."""
import json, sys
from dataclasses import replace
from rag.settings import Settings
from rag.factory import build_embedder, build_assistant
from rag.eval.runner import qa_dataset
from rag.answer_text import split_answer
from rag.checks.answer_judge import quoted_source

report, dataset, ids = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
rows = {x["id"]: x for x in json.load(open(report))["datasets"][dataset]["rows"]}
settings = Settings.from_env()
emb = build_embedder(settings)
name, items, s2 = qa_dataset(dataset, settings, emb)
asst = build_assistant(s2, emb)
ans = asst.answerer
chk = ans.checker
reads = []
orig = chk.read
def rec(q, src, lang):
    r = orig(q, src, lang); reads.append((src, r)); return r
chk.read = rec
for i in ids:
    x = rows[i]; q = x["question"]; lang = "de" if any(it.id == i and it.lang == "de" for it in items) else "en"
    ev, best = ans.evidence(q, q)
    reads.clear()
    ctx = chk.context(q, lang, ev)
    gs, ok = chk.check(split_answer(x["draft"]), ev, ctx)
    print("=" * 100); print(i, q); print("DRAFT:", x["draft"])
    for g in gs:
        print("  G:", g.text[:120], "| reason:", g.reason, "| quote:", (g.quote.text[:150] if g.quote else None))
    print("  answers:", ok)
    for src, r in reads:
        print("  READ src:", src[-200:].replace("\n", " ")); print("       ->", r[:200].replace("\n", " "))
