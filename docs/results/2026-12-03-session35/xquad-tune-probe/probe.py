"""Why right XQuAD drafts are refused: the product on tuning-side questions (outside the reported sample).

For each question: the draft, the checked answer, each dropped sentence's reason and every focused read
(source and reply). ``--plain``: the plain baseline's answers to the same questions instead.
Usage: python probe.py N OUT.jsonl [--plain]
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import replace

from rag.eval.designs import DESIGNS
from rag.eval.runner import XQUAD_SAMPLE, xquad_sample
from rag.eval.xquad import _scored, build_index, load_xquad
from rag.factory import build_assistant, build_embedder, build_generator
from rag.settings import Settings

n, out = int(sys.argv[1]), sys.argv[2]
settings = Settings.from_env()
embedder = build_embedder(settings)
generator = build_generator(settings)
passages, questions = load_xquad()
store = build_index(settings, embedder, passages)
assistant = build_assistant(replace(settings, index_dir=store.root), embedder=embedder, generator=generator)
sample = set(xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions)))
tune = [i for i in range(len(questions)) if i not in sample]
random.Random(35).shuffle(tune)
checker = assistant.answerer.checker
reads: list[dict[str, str]] = []
real_read = checker.read


def logged(question: str, source: str, lang: str) -> str:
    reply = real_read(question, source, lang)
    reads.append({"source": source, "reply": reply})
    return reply


checker.read = logged
with open(out, "w") as f:
    for k, idx in enumerate(tune[:n]):
        q = questions[idx]
        reads.clear()
        if "--plain" in sys.argv:
            ans = off = DESIGNS["plain"](q["question_en"], assistant.retriever, generator)
        else:
            ans, off, _ = assistant.ask_ablated(q["question_en"], (), ())
        row = {"id": q["id"], "question": q["question_en"], "gold": q["answers"], "answer": ans.answer,
               "draft": off.answer, "on": _scored(ans, q["answers"])["contains_gold"],
               "off": _scored(off, q["answers"])["contains_gold"], "refused": ans.refused,
               "dropped": list(ans.dropped), "reads": list(reads), "checked_s": ans.timings.checked_s}
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        print(f"[{k + 1}/{n}] on={row['on']} off={row['off']} {q['question_en'][:60]}", file=sys.stderr, flush=True)
