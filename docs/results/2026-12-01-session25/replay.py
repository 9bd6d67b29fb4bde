"""Replay chosen questions, printing each focused read's source and reply."""
import sys, json
from rag.settings import Settings
from rag.factory import build_embedder, build_generator, build_assistant
from rag.eval.runner import qa_dataset
settings = Settings.from_env()
emb = build_embedder(settings); gen = build_generator(settings)
for spec in sys.argv[1:]:
    ds, ids = spec.split(':'); ids = ids.split(',')
    key, items, qs = qa_dataset(ds, settings, emb)
    a = build_assistant(qs, embedder=emb, generator=gen)
    reader = a.answerer.checker.read
    orig = reader._read
    def rec(q, src, lang, orig=orig):
        r = orig(q, src, lang); print('   READ src:', src.replace('\n',' ')[:400], '\n   REPLY:', r.replace('\n',' ')); return r
    import functools
    reader._cached = functools.lru_cache(maxsize=256)(rec)
    for it in items:
        if it.id in ids:
            print('==', it.id, it.question)
            ans = a.ask(it.question, it.history)
            print('  ANSWER:', ans.answer)
