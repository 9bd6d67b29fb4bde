import json, sys, time
from pathlib import Path
from rag.settings import Settings
from rag.factory import build_assistant, build_generator
from rag.eval.runner import load_qa
look = int(sys.argv[1]); n = int(sys.argv[2]); out = sys.argv[3]
s = Settings.from_env().with_overrides(index_dir=Path("/root/.cache/rag/seeds-index-st-embeddinggemma-300m-onnx-int8-v5-solo"), lookahead=look)
gen = build_generator(s)
class Counting:
    def __init__(self, g): self.g=g; self.guessed=self.kept=self.tokens=0; self.decode=0.0
    model_id = property(lambda self: self.g.model_id)
    last_stats = property(lambda self: self.g.last_stats)
    def stream(self, *a, **k):
        yield from self.g.stream(*a, **k)
        st=self.g.last_stats
        if st: self.guessed+=st.guessed; self.kept+=st.kept; self.tokens+=st.tokens; self.decode+=st.decode_s
    def yes_probability(self, m): return self.g.yes_probability(m)
cg = Counting(gen)
a = build_assistant(s, generator=cg)
items = [i for i in load_qa() if i.split == "tune" and not i.history][:n]
a.ask("What happened in Belarus?")  # warm
rows=[]
for it in items:
    t=time.perf_counter(); ans=a.ask(it.question); dt=time.perf_counter()-t
    rows.append(dict(id=it.id, answer=ans.answer, draft=ans.draft, wall=dt, checked=ans.timings.checked_s, first=ans.timings.first_token_s))
    print(it.id, "%.2f"%dt, ans.answer[:100].replace("\n"," "), flush=True)
print("guessed", cg.guessed, "kept", cg.kept, "tokens", cg.tokens, "decode_s %.1f"%cg.decode)
json.dump(rows, open(out,"w"), indent=1)
