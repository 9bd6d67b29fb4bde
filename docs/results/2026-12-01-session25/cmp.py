import json,sys
sys.path.insert(0,'/work/main')
from rag.eval.metrics import fact_present
def facts_of(set_):
    out={}
    if set_.startswith('seeds'):
        f='/work/main/rag/data/seeds_qa.jsonl'
    elif set_=='gnad': f='/work/main/rag/data/gnad_qa.jsonl'
    else: return None
    for l in open(f):
        d=json.loads(l); out[d['id']]=d
    return out
ship=json.load(open(sys.argv[1]))['datasets']
base=json.load(open(sys.argv[2]))['datasets']
for name,d in ship.items():
    pn=name+'/plain'
    if pn not in base: continue
    F=facts_of(name)
    brows={r['id']:r for r in base[pn]['rows']}
    cats={}
    for r in d['rows']:
        b=brows.get(r['id'])
        if F and r['id'] in F:
            it=F[r['id']]
            dc = it['answerable'] and all(fact_present(r.get('draft') or '',v) for v in it['facts'])
        else:
            dc=None
        key=(('ans' if r['answerable'] else 'unans'),'draft+' if dc else 'draft-', 'ours:'+('ok' if r['correct'] else ('ref' if r['refused'] else 'wrong')), 'plain:'+('ok' if b and b['correct'] else ('ref' if b and b['refused'] else 'wrong')))
        cats.setdefault(key,[]).append(r['id'])
    print('==',name)
    for k,v in sorted(cats.items()): print(k,len(v),' '.join(v))
