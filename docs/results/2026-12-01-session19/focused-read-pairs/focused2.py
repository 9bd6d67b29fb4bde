import json, sys, time
from rag.settings import Settings
from rag.factory import build_generator
from rag.focused import FocusedReader, agrees
from rag.language import detect_language
settings = Settings.from_env()
gen = build_generator(settings)
max_tokens = int(sys.argv[1]); outp = sys.argv[2]
reader = FocusedReader(gen, max_tokens=max_tokens)
pairs = [json.loads(l) for l in open('/tmp/exp/focused.jsonl')]
out = open(outp, 'w')
for i, p in enumerate(pairs):
    lang = detect_language(p['question'])
    s = time.perf_counter()
    p['focused'] = reader(p['question'], p['source'], lang); p['focused_s'] = time.perf_counter() - s
    out.write(json.dumps(p, ensure_ascii=False) + "\n"); out.flush()
