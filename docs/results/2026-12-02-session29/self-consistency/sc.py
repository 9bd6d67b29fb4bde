"""Self-consistency, measured: after each greedy draft, K sampled drafts from the same prompt state.

Writes one JSONL row per question: the checked answer (and its sentences), whether it is right,
the unchecked draft, and the K samples. The samples branch off the draft's evaluated prompt
(one token re-evaluated), so each costs its generation only.
usage: sc.py DATASET OUT.jsonl [K] [TEMP]   DATASET: seeds-tune | gnad | xquad-tune
"""
import json
import os
import random
import sys
import time

from rag.eval import metrics
from rag.eval.runner import XQUAD_SAMPLE, corpus_numbers, qa_dataset, xquad_sample
from rag.factory import build_assistant, build_embedder, build_generator
from rag.generate import SHARED, common_prefix
from rag.settings import Settings

ds, out = sys.argv[1], sys.argv[2]
K = int(sys.argv[3]) if len(sys.argv) > 3 else 3
TEMP = float(sys.argv[4]) if len(sys.argv) > 4 else 0.7
settings = Settings.from_env()
emb = build_embedder(settings)
gen = build_generator(settings)

if ds == "xquad-tune":
    from dataclasses import replace

    from rag.eval.xquad import build_index, load_xquad
    passages, questions = load_xquad()
    store = build_index(settings, emb, passages)
    qs = replace(settings, index_dir=store.root)
    in_sample = set(xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions)))
    rest = [i for i in range(len(questions)) if i not in in_sample]
    pick = sorted(random.Random(29).sample(rest, int(os.environ.get("XN", "40"))))
    items = [dict(id=questions[i]["id"], question=questions[i]["question_en"], golds=questions[i]["answers"],
                  history=(), answerable=True) for i in pick]
    nums = None
else:
    key, qa, qs = qa_dataset(ds, settings, emb)
    items = [dict(id=i.id, question=i.question, item=i, history=i.history, answerable=i.answerable) for i in qa]
    nums = None

ONLY = set(os.environ["ONLY"].split(",")) if os.environ.get("ONLY") else None
if ONLY:
    items = [i for i in items if i["id"] in ONLY]
a = build_assistant(qs, embedder=emb, generator=gen)
if ds != "xquad-tune":
    nums = corpus_numbers(a.retriever.snapshot.documents) if hasattr(a.retriever, "snapshot") else None

llm = gen.llm
chat = gen._chat
orig_stream = chat.stream
orig_prefill = chat._prefill
SAMPLES: list[str] = []


def fast_prefill(prompt, fixed):
    n = len(prompt)
    if llm.n_tokens >= n and common_prefix(llm.input_ids[: llm.n_tokens], prompt) == n:
        llm._ctx.kv_cache_seq_rm(-1, n - 1, -1)
        llm.n_tokens = n - 1
        llm.eval(prompt[n - 1:])
    else:
        raise RuntimeError("prompt state lost")


def stream(messages, max_tokens, temperature):
    yield from orig_stream(messages, max_tokens, temperature)
    if len(messages) == 1 and SHARED in messages[0] and temperature == 0.0:
        cache, llm.cache = llm.cache, None
        chat._prefill = fast_prefill
        try:
            for _ in range(K):
                SAMPLES.append("".join(orig_stream(messages, min(max_tokens, 80), TEMP)).strip())
        finally:
            chat._prefill = orig_prefill
            llm.cache = cache


chat.stream = stream

with open(out, "w") as f:
    for n, it in enumerate(items):
        SAMPLES.clear()
        t = time.perf_counter()
        ans, off = a.ask_both(it["question"], it["history"])
        row = dict(id=it["id"], question=it["question"], answerable=it["answerable"], answer=ans.answer,
                   refused=ans.refused, sentences=[s.text for s in ans.sentences if s.citations],
                   draft=ans.draft, unchecked=off.answer, unchecked_refused=off.refused, samples=list(SAMPLES),
                   seconds=time.perf_counter() - t)
        if ds == "xquad-tune":
            g = it["golds"]
            row["correct"] = not ans.refused and any(metrics.fact_present(ans.answer, [x]) for x in g)
            row["correct_off"] = not off.refused and any(metrics.fact_present(off.answer, [x]) for x in g)
            row["golds"] = g
        else:
            i = it["item"]
            need_all = i.kind != "synthesis"
            row["correct"] = i.answerable and metrics.is_correct(ans.answer, ans.refused, i.facts, nums or set(),
                                                                 i.question, need_all)
            row["correct_off"] = i.answerable and metrics.is_correct(off.answer, off.refused, i.facts,
                                                                     nums or set(), i.question, need_all)
            row["facts"] = i.facts
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        print(n, it["id"], "ok " if row["correct"] else ("REF" if ans.refused else "BAD"), f"{row['seconds']:.1f}s",
              file=sys.stderr, flush=True)
