import json
from collections import defaultdict
from rag.focused import agrees
from rag.grounded import new_facts
from rag.names import name_in
from rag.language import detect_language
P=[json.loads(l) for l in open('docs/results/2026-12-01-session19/focused-read-pairs/focused.jsonl')]
def ev(f,label):
    st=defaultdict(lambda:[0,0,0])
    for p in P:
        a=f(p)
        for k in (p['dataset'].split('-')[0],'all'):
            s=st[k]; s[0]+=a and p['label']; s[1]+=a and not p['label']; s[2]+=(not a) and p['label']
    print(label, {k:(f"P={v[0]/max(1,v[0]+v[1]):.3f} R={v[0]/max(1,v[0]+v[2]):.3f} tp={v[0]} fp={v[1]}") for k,v in st.items()})
base=lambda p: p['p_yes']>=0.5 and agrees(p['answer'],p['focused'],p['question'])
ev(base,'current')
def lang(p): return detect_language(p['question'])
def nq(p):
    nums,nms=new_facts(p['answer'],p['question'],lang(p))
    return all(name_in(x,p['source']) for x in nms)
ev(lambda p: base(p) and nq(p),'names in quote')
for p in P:
    if base(p) and not nq(p):
        nums,nms=new_facts(p['answer'],p['question'],lang(p))
        print(p['label'], sorted(nms), [x for x in nms if not name_in(x,p['source'])], '|', p['answer'][:100])
