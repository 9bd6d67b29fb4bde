import json, sys, time
from rag.settings import Settings
from rag.factory import build_generator
from rag.prompt import PASSAGE_PROMPT
from rag.language import LANGUAGE_NAMES, detect_language
settings = Settings.from_env()
gen = build_generator(settings)
pairs = [json.loads(l) for l in open('/work/main/rag/data/judge_pairs.jsonl')]
out = open('/tmp/exp/focused.jsonl', 'w')
t0 = time.time()
for i, p in enumerate(pairs):
    lang = detect_language(p['question'])
    prompt = PASSAGE_PROMPT.format(context=p['source'], question=p['question'], language=LANGUAGE_NAMES[lang])
    s = time.perf_counter()
    text = "".join(gen.stream([{"role": "user", "content": prompt}], 48, 0.0)).strip()
    p['focused'] = text; p['focused_s'] = time.perf_counter() - s
    out.write(json.dumps(p, ensure_ascii=False) + "\n"); out.flush()
    if i % 20 == 0: print(i, round(time.time() - t0), text[:80], flush=True)
