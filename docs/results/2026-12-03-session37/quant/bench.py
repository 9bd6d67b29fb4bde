import sys, time, glob
from llama_cpp import Llama
path = sys.argv[1]
text = open(sorted(glob.glob('/work/main/seeds/*'))[0], encoding='utf-8').read()
llm = Llama(model_path=path, n_ctx=4096, n_threads=2, n_threads_batch=2, n_batch=512, verbose=False, use_mmap=False)
toks = llm.tokenize(("Beantworte: " + text * 3).encode())[:600]
res = []
for rep in range(3):
    llm.reset()
    t = time.perf_counter(); llm.eval(toks); pe = time.perf_counter() - t
    t = time.perf_counter()
    n = 0
    for tok in llm.generate(toks, top_k=1, reset=False):
        n += 1
        if n >= 40: break
    dec = time.perf_counter() - t
    res.append((len(toks)/pe, n/dec))
print(path.split('/')[-1], ["%.1f pp tok/s, %.1f gen tok/s" % r for r in res])
