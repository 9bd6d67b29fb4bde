import json, sys
from rag.checks.adds_to_question import new_words, same_word as _same_word
from rag.textnorm import numbers
from rag.prompt import DONT_KNOW, REFUSAL_MARK
rows=[json.loads(l) for l in open(sys.argv[1] if len(sys.argv)>1 else '/tmp/exp/focused.jsonl')]
def refused(t): return not t.strip() or bool(DONT_KNOW.search(t)) or REFUSAL_MARK.lower() in t.lower()
def overlap(a,b): return {x for x in a if any(x==y or _same_word(x,y) for y in b)}
def agree(r, mode):
    f=r['focused']; d=r['answer']; q=r['question']
    if refused(f): return False
    dn=numbers(d)-numbers(q); fn=numbers(f)
    if dn:
        return dn<=fn if mode=='all' else bool(dn&fn)
    dw=new_words(d,q); fw=new_words(f,q)
    return bool(overlap(dw,fw))
def stats(name, pred):
    tp=sum(1 for r in rows if pred(r) and r['label']); fp=sum(1 for r in rows if pred(r) and not r['label'])
    pos=sum(r['label'] for r in rows)
    print(f"{name:40s} yes {tp+fp:3d} prec {tp/max(1,tp+fp):.3f} recall {tp/max(1,pos):.3f}")
print(len(rows), 'pairs', sum(r['label'] for r in rows), 'positive')
stats('judge>=0.5', lambda r: r['p_yes']>=0.5)
for m in ('all','any'):
    stats(f'agree[{m}]', lambda r: agree(r,m))
    stats(f'judge AND agree[{m}]', lambda r: r['p_yes']>=0.5 and agree(r,m))
    stats(f'judge OR agree[{m}]', lambda r: r['p_yes']>=0.5 or agree(r,m))
    stats(f'judge>=0.3 AND agree[{m}]', lambda r: r['p_yes']>=0.3 and agree(r,m))
for ds in sorted({r['dataset'] for r in rows}):
    sub=[r for r in rows if r['dataset']==ds]
    def st(name,pred):
        tp=sum(1 for r in sub if pred(r) and r['label']); fp=sum(1 for r in sub if pred(r) and not r['label']); pos=sum(r['label'] for r in sub)
        print(f"  {ds:10s} {name:25s} n {len(sub)} pos {pos} yes {tp+fp} prec {tp/max(1,tp+fp):.3f} rec {tp/max(1,pos):.3f}")
    st('judge', lambda r: r['p_yes']>=0.5); st('agree', lambda r: agree(r,'all')); st('judge AND agree', lambda r: r['p_yes']>=0.5 and agree(r,'all')); st('judge OR agree', lambda r: r['p_yes']>=0.5 or agree(r,'all'))
