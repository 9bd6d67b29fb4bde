"""Per-passage drafting, measured beside the product's four-passage draft (tuning side only).

For each question: the product's evidence (its top-4 passages, best first), the model asked the
question over each passage alone (the focused read's prompt, longer reply), timed; and the checked
answer the product's checks assemble from each of the first two replies that answer.
Sets: seeds-tune, gnad (the dev set), xquad-tune (60 questions outside the reported sample, seed 35,
the questions of session 35's hand labels).
Usage: python probe.py SET OUT.jsonl
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import replace

from rag.eval.runner import XQUAD_SAMPLE, qa_dataset, xquad_sample
from rag.factory import build_assistant, build_embedder, build_generator
from rag.focused import FocusedReader
from rag.language import detect_language
from rag.pipeline import standalone_query
from rag.prompt import says_nothing
from rag.settings import Settings
from rag.types import Timings

name, out = sys.argv[1], sys.argv[2]
settings = Settings.from_env()
embedder = build_embedder(settings)
generator = build_generator(settings)
if name == "xquad-tune":
    from rag.eval.xquad import build_index, load_xquad

    passages, questions = load_xquad()
    store = build_index(settings, embedder, passages)
    sample = set(xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions)))
    tune = [i for i in range(len(questions)) if i not in sample]
    random.Random(35).shuffle(tune)
    items = [{"id": questions[i]["id"], "question": questions[i]["question_en"], "history": (),
              "gold": questions[i]["answers"]} for i in tune[:60]]
    settings = replace(settings, index_dir=store.root)
else:
    _, qa, settings = qa_dataset(name, settings, embedder)
    items = [{"id": q.id, "question": q.question, "history": q.history} for q in qa]
assistant = build_assistant(settings, embedder=embedder, generator=generator)
answerer = assistant.answerer
reader = FocusedReader(generator, max_tokens=160)
with open(out, "w") as f:
    for k, item in enumerate(items):
        question, history = item["question"], item["history"]
        lang = detect_language(question)
        started = time.perf_counter()
        rewritten = assistant.rewriter(question, history) if history and assistant.rewriter else None
        query = rewritten or standalone_query(question, history)
        asked = rewritten or question
        evidence, best = answerer.evidence(query, asked)
        retrieve_s = time.perf_counter() - started
        row = {"id": item["id"], "question": question, "asked": asked, "lang": lang, "best": best,
               "retrieve_s": retrieve_s, "reads": [], "checked": []}
        if evidence and best >= assistant.refuse_below:
            for e in evidence:
                t = time.perf_counter()
                reply = reader(asked, e.passage.text.strip(), lang)
                row["reads"].append({"n": e.n, "doc_id": e.passage.doc_id, "reply": reply,
                                     "idk": says_nothing(reply), "s": time.perf_counter() - t})
            for r in [r for r in row["reads"] if not r["idk"]][:2]:
                t = time.perf_counter()
                ans = answerer.assemble(question, r["reply"], evidence, lang, Timings(retrieve_s, None, 0.0, None),
                                        query if history else None, True, asked)
                row["checked"].append({"n": r["n"], "answer": ans.answer, "refused": ans.refused,
                                       "dropped": list(ans.dropped), "s": time.perf_counter() - t})
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        print(f"[{k + 1}/{len(items)}] {item['id']} reads={[int(not r['idk']) for r in row['reads']]} "
              f"checked={[int(not c['refused']) for c in row['checked']]}", file=sys.stderr, flush=True)
