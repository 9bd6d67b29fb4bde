"""Raw prompt processing and generation speed of the bundled GGUF under llama.cpp settings (one at a time)."""
import json, sys, time
from pathlib import Path
from llama_cpp import Llama
import llama_cpp
path = str(Path.home() / '.cache/rag/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf')
text = open('/work/main/seeds/' + sorted(p.name for p in Path('/work/main/seeds').iterdir())[0]).read()
variants = {
    'default': {},
    'flash_attn': {'flash_attn': True},
    'ubatch256': {'n_ubatch': 256},
    'ubatch128': {'n_ubatch': 128},
    'fa+q8kv': {'flash_attn': True, 'type_k': 8, 'type_v': 8},
}
which = sys.argv[2:] or list(variants)
for name in which:
    kw = dict(model_path=path, n_ctx=2048, n_threads=2, n_threads_batch=2, n_batch=512, seed=0, verbose=False, use_mmap=False)
    kw.update(variants[name])
    llm = Llama(**kw)
    toks = llm.tokenize(text.encode())[:470]
    pps, gens = [], []
    for rep in range(4):
        llm.reset(); llm._ctx.kv_cache_clear() if hasattr(llm._ctx, 'kv_cache_clear') else None
        t = time.perf_counter(); llm.eval(toks); pp = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(24):
            llm.eval([toks[i]])
        g = time.perf_counter() - t
        if rep: pps.append(len(toks) / pp); gens.append(24 / g)
    print(json.dumps({'variant': name, 'pp_tok_s': round(sorted(pps)[1], 1), 'gen_tok_s': round(sorted(gens)[1], 1)}), flush=True)
    del llm
