import json, sys, time
from pathlib import Path
from rag.settings import Settings
from rag.factory import build_assistant, build_generator
from rag.eval.runner import load_qa
n = int(sys.argv[1]); out = sys.argv[2]
s = Settings.from_env().with_overrides(index_dir=Path("/root/.cache/rag/seeds-index-st-embeddinggemma-300m-onnx-int8-v5-solo"), lookahead=0)
gen = build_generator(s)
_ = gen.llm
chat = gen._chat
orig = chat._tokens
calls = []
def rec(sampler, prompt, max_tokens):
    got = []
    calls.append(dict(prompt=list(prompt), completion=got))
    for t in orig(sampler, prompt, max_tokens):
        got.append(int(t)); yield t
chat._tokens = rec
a = build_assistant(s, generator=gen)
items = [i for i in load_qa() if i.split == "tune" and not i.history][:n]
for it in items:
    ans = a.ask(it.question); print(it.id, ans.answer[:80], flush=True)
json.dump([dict(prompt=[int(x) for x in c["prompt"]], completion=c["completion"]) for c in calls], open(out, "w"))
