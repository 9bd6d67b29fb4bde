"""Re-assemble each question's stored draft under variants of the focused read's source: figures only."""
import json, sys, dataclasses
from rag.settings import Settings
from rag.factory import build_embedder, build_assistant
from rag.eval import metrics
from rag.eval.runner import qa_dataset, corpus_numbers
from rag.types import Timings
import rag.checks.focused_read as fr
from rag.checks.answer_judge import quoted_source

dataset, report = sys.argv[1], sys.argv[2]
variants = sys.argv[3].split(",")
settings = Settings.from_env()
emb = build_embedder(settings)

def passage_source(g):
    return g.evidence.passage.text.strip()

SOURCES = {"shipped": quoted_source, "passage": passage_source}
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
rows = {x["id"]: x for x in json.load(open(report))["datasets"][dataset]["rows"]} if report != "-" else {}
asst = build_assistant(s2, emb)
ans = asst.answerer
nums = corpus_numbers(ans.retriever.snapshot.documents)
tally = {v: [] for v in variants}
for it in items:
    q = it["question"]
    ev, _ = ans.evidence(q, q)
    raw = rows.get(it["id"], {}).get("draft") or "".join(ans.draft(q, ev, it["lang"])).strip()
    line = {"id": it["id"]}
    for v in variants:
        fr.quoted_source = SOURCES[v]
        a = ans.assemble(q, raw, ev, it["lang"], Timings(), None, True, q)
        if dataset == "xquad":
            ok = not a.refused and any(metrics.fact_present(a.answer, [g]) for g in it["gold"])
        else:
            ok = it["answerable"] and metrics.is_correct(a.answer, a.refused, it["facts"], nums, q,
                                                         need_all=it["kind"] != "synthesis")
        wrong = not a.refused and not ok
        tally[v].append((ok, wrong)); line[v] = (ok, wrong, a.answer[:100])
    print(json.dumps(line, ensure_ascii=False), flush=True)
n = len(items)
m = sum(1 for it in items if it.get("answerable", True))
for v, t in tally.items():
    print(f"{dataset} {v:10s} correct {sum(o for o, _ in t) / m:.3f} answered-wrong {sum(w for _, w in t) / n:.3f} (n={n})",
          file=sys.stderr)
