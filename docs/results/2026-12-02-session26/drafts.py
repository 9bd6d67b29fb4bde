"""Draft correctness per variant: fact_present on every fact (seeds, GNAD) or a gold contained (XQuAD)."""
import json, sys
sys.path.insert(0, '/work/main')
from rag.eval.metrics import fact_present
from rag.prompt import says_nothing
QA = {}
for f in ('/work/main/rag/data/seeds_qa.jsonl', '/work/main/rag/data/gnad_qa.jsonl'):
    for l in open(f):
        d = json.loads(l); QA[d['id']] = d
def right(text, row, xq):
    if not text or says_nothing(text):
        return None
    if xq:
        return any(fact_present(text, [g]) for g in row['gold'])
    it = QA[row['id']]
    if not it['answerable']:
        return False
    return all(fact_present(text, v) for v in it['facts'])
out = {}
for path in sys.argv[1:]:
    ds = json.load(open(path))['datasets']
    for name, d in ds.items():
        base, _, design = name.partition('/')
        xq = base == 'xquad'
        rows = d['rows'] if 'rows' in d else d.get('answers', d.get('sample', []))
        for r in rows:
            txt = r.get('draft') if not design else r.get('answer')
            v = right(txt, r, xq)
            out.setdefault(base, {}).setdefault(design or 'ship', {})[r['id']] = v
for base, des in out.items():
    print('==', base)
    for name, m in des.items():
        n = len(m); ok = sum(1 for v in m.values() if v); wrong = sum(1 for v in m.values() if v is False); ref = sum(1 for v in m.values() if v is None)
        print(f'  {name:10s} n={n} right={ok} wrong={wrong} refused={ref}')
json.dump(out, open('/tmp/s26/drafts.json', 'w'))
