"""Drafts with the probability of each chosen token, checked as shipped: is the draft's confidence a signal?"""
import json, sys, dataclasses, random, math
import numpy as np
from rag.settings import Settings
from rag.factory import build_embedder, build_assistant
from rag.eval import metrics
from rag.eval.runner import qa_dataset, corpus_numbers, XQUAD_SAMPLE, xquad_sample
from rag.types import Timings
import rag.generate as G

PROBS = []
orig_sample_loop = G._ChatLoop.stream
def stream(self, messages, max_tokens, temperature):
    import llama_cpp
    PROBS.clear()
    llm = self.llm
    for piece in orig_sample_loop(self, messages, max_tokens, temperature):
        yield piece
G._ChatLoop.stream = stream
# record probs by wrapping llm.eval? simpler: wrap the sampler via _init_sampler
orig_init = None

dataset, out = sys.argv[1], sys.argv[2]
settings = Settings.from_env()
emb = build_embedder(settings)
if dataset.startswith("xquad"):
    from rag.eval.xquad import load_xquad, build_index
    passages, questions = load_xquad()
    store = build_index(settings, emb, passages)
    s2 = dataclasses.replace(settings, index_dir=store.root)
    sample = set(xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions)))
    if dataset == "xquad-tune":
        rest = [i for i in range(len(questions)) if i not in sample]
        idx = sorted(random.Random(21).sample(rest, 100))
    else:
        idx = sorted(sample)
    items = [dict(id=questions[i]["id"], question=questions[i]["question_en"], gold=questions[i]["answers"], lang="en")
             for i in idx]
else:
    _, qa, s2 = qa_dataset(dataset, settings, emb)
    items = [dict(id=i.id, question=i.question, facts=i.facts, lang=i.lang, answerable=i.answerable, kind=i.kind)
             for i in qa if not i.history]
asst = build_assistant(s2, emb)
ans = asst.answerer
gen = ans.generator
llm = gen.llm
chat = gen._chat
nums = corpus_numbers(ans.retriever.snapshot.documents)

# capture the chosen token's probability at each step by wrapping the sampler's sample()
import llama_cpp
real_init = llm._init_sampler
def init(*a, **k):
    s = real_init(*a, **k)
    real_sample = s.sample
    def sample(ctx, idx):
        logits = np.ctypeslib.as_array(ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).astype(np.float64)
        tok = real_sample(ctx, idx)
        m = logits.max(); p = np.exp(logits - m); p /= p.sum()
        srt = np.sort(np.partition(p, -2)[-2:])
        PROBS.append((float(p[tok]), float(srt[-1] - srt[-2])))
        return tok
    s.sample = sample
    return s
llm._init_sampler = init

with open(out, "w") as f:
    for it in items:
        q = it["question"]
        ev, best = ans.evidence(q, q)
        if not ev or best < asst.refuse_below:
            rec = dict(id=it["id"], floor=True, answerable=it.get("answerable", True))
            f.write(json.dumps(rec) + "\n"); f.flush(); continue
        PROBS.clear()
        raw = "".join(ans.draft(q, ev, it["lang"])).strip()
        probs = list(PROBS)
        a = ans.assemble(q, raw, ev, it["lang"], Timings(), None, True, q)
        u = ans.assemble(q, raw, ev, it["lang"], Timings(), None, False, q)
        def score(x):
            if dataset.startswith("xquad"):
                return (not x.refused) and any(metrics.fact_present(x.answer, [g]) for g in it["gold"])
            return it["answerable"] and metrics.is_correct(x.answer, x.refused, it["facts"], nums, q,
                                                           need_all=it["kind"] != "synthesis")
        rec = dict(id=it["id"], answerable=it.get("answerable", True), draft=raw, probs=probs,
                   refused=a.refused, ok=bool(score(a)), draft_refused=u.refused, draft_ok=bool(score(u)),
                   answer=a.answer[:200])
        f.write(json.dumps(rec, ensure_ascii=False) + "\n"); f.flush()
