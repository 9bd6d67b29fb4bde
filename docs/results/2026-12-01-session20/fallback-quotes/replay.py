"""Re-assemble each question's draft under variants of the checks: figures only (an ablation)."""
import json, sys, dataclasses
from rag.settings import Settings
from rag.factory import build_embedder, build_assistant
from rag.eval import metrics
from rag.eval.runner import qa_dataset, corpus_numbers
from rag.types import Timings
import rag.grounded as gr

dataset = sys.argv[1]
report = sys.argv[2] if len(sys.argv) > 2 else None
settings = Settings.from_env()
emb = build_embedder(settings)
VARIANTS = {"shipped": (False, frozenset({"stating_quote"})), "S+J": (False, frozenset()),
            "S+J+O": (True, frozenset()), "O+J": (True, frozenset({"stating_quote"}))}
if dataset == "xquad":
    from rag.eval.xquad import load_xquad, build_index
    from rag.eval.runner import XQUAD_SAMPLE, xquad_sample
    passages, questions = load_xquad()
    store = build_index(settings, emb, passages)
    s2 = dataclasses.replace(settings, index_dir=store.root)
    items = [questions[i] for i in xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions))]
    items = [dict(id=q["id"], question=q["question_en"], gold=q["answers"], lang="en") for q in items]
else:
    _, qa, s2 = qa_dataset(dataset, settings, emb)
    items = [dict(id=i.id, question=i.question, facts=i.facts, lang=i.lang, answerable=i.answerable, kind=i.kind)
             for i in qa if not i.history]
rows = {x["id"]: x for x in json.load(open(report))["datasets"][dataset]["rows"]} if report else {}
asst = build_assistant(s2, emb)
ans = asst.answerer
nums = corpus_numbers(ans.retriever.snapshot.documents)
tally = {v: [] for v in VARIANTS}
for k, it in enumerate(items):
    q = it["question"]
    ev, _ = ans.evidence(q, q)
    raw = rows[it["id"]]["draft"] if it["id"] in rows else "".join(ans.draft(q, ev, it["lang"])).strip()
    line = {"id": it["id"]}
    for v, (lead, off) in VARIANTS.items():
        gr.EXPERIMENT["opening"] = lead
        a = ans.assemble(q, raw, ev, it["lang"], Timings(), None, True, q, off=off)
        if dataset == "xquad":
            ok = not a.refused and any(metrics.fact_present(a.answer, [g]) for g in it["gold"])
            wrong = not a.refused and not ok
        else:
            ok = it["answerable"] and metrics.is_correct(a.answer, a.refused, it["facts"], nums, q,
                                                         need_all=it["kind"] != "synthesis")
            wrong = not a.refused and not ok
        tally[v].append((ok, wrong)); line[v] = (ok, wrong, a.answer[:80])
    print(json.dumps(line, ensure_ascii=False), flush=True)
n = len(items)
m = sum(1 for it in items if it.get("answerable", True))
for v, t in tally.items():
    print(f"{dataset} {v:16s} correct {sum(o for o, _ in t) / m:.3f} answered-wrong {sum(w for _, w in t) / n:.3f} (n={n})",
          file=sys.stderr)
