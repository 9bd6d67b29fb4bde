"""The plain baseline on the probe's tuning-side XQuAD questions (same order as probe.py), for a hand comparison.

Usage: python plain.py probe.jsonl OUT.jsonl
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from rag.eval.designs import DESIGNS
from rag.eval.xquad import _scored, build_index, load_xquad
from rag.factory import build_assistant, build_embedder, build_generator
from rag.settings import Settings

probe = [json.loads(line) for line in open(sys.argv[1])]
settings = Settings.from_env()
embedder = build_embedder(settings)
generator = build_generator(settings)
passages, questions = load_xquad()
store = build_index(settings, embedder, passages)
assistant = build_assistant(replace(settings, index_dir=store.root), embedder=embedder, generator=generator)
by_id = {q["id"]: q for q in questions}
with open(sys.argv[2], "w") as f:
    for k, row in enumerate(probe):
        q = by_id[row["id"]]
        ans = DESIGNS["plain"](q["question_en"], assistant.retriever, generator)
        out = {"id": q["id"], "question": q["question_en"], "gold": q["answers"], "answer": ans.answer,
               "refused": ans.refused, "contains_gold": _scored(ans, q["answers"])["contains_gold"]}
        f.write(json.dumps(out, ensure_ascii=False) + "\n")
        f.flush()
        print(f"[{k + 1}/{len(probe)}] {out['contains_gold']} {q['question_en'][:60]}", file=sys.stderr, flush=True)
