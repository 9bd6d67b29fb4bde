import json,sys
sys.path.insert(0,'/work/main')
from rag.focused import agrees
from rag.checks.adds_to_question import new_words, same_word
from rag.prompt import says_nothing
from rag.textnorm import numbers, stated_numbers
P=[json.loads(l) for l in open('/work/main/docs/results/2026-12-01-session19/focused-read-pairs/focused.jsonl')]
def v_sym(claim, reply, question, frac=0.5):
    if says_nothing(reply): return False
    nn = numbers(claim)-numbers(question)
    if nn: return nn <= stated_numbers(reply)
    said=new_words(reply,question); claimed=new_words(claim,question)
    shared={w for w in claimed if any(same_word(w,r) for r in said)}
    if not shared: return False
    if 2*len(shared)>=len(claimed): return True
    said_sh={r for r in said if any(same_word(w,r) for w in claimed)}
    return len(said_sh)==len(said)
def v_one(claim, reply, question):
    if says_nothing(reply): return False
    nn = numbers(claim)-numbers(question)
    if nn: return nn <= stated_numbers(reply)
    said=new_words(reply,question); claimed=new_words(claim,question)
    return any(same_word(w,r) for w in claimed for r in said)
rules={'current':agrees,'sym':v_sym,'one':v_one}
from collections import defaultdict
for name,f in rules.items():
    st=defaultdict(lambda:[0,0,0,0])
    for p in P:
        a=f(p['answer'],p['focused'],p['question'])
        for k in (p['dataset'].split('-')[0],'all'):
            s=st[k]; s[0]+=a and p['label']; s[1]+=a and not p['label']; s[2]+=(not a) and p['label']; s[3]+=1
    print(name, {k:(f"P={v[0]/max(1,v[0]+v[1]):.3f} R={v[0]/max(1,v[0]+v[2]):.3f} tp={v[0]} fp={v[1]}") for k,v in st.items()})
print()
import random
fps=[p for p in P if agrees(p['answer'],p['focused'],p['question']) and not p['label']]
random.seed(1)
for p in random.sample(fps,25):
    print(p['dataset'],p['id'],'Q:',p['question']); print('   A:',p['answer'][:160]); print('   F:',p['focused'][:160]); print('   S:',p['source'][-200:])
from rag.names import name_words, names, name_in
from rag.grounded import new_facts
def v_names(claim, reply, question, lang='en'):
    if not agrees(claim, reply, question): return False
    nums, nms = new_facts(claim, question, 'en')
    return all(name_in(x, reply) or any(same_word(x.lower(), r) for r in new_words(reply, question)) for x in nms)
def ev(f, label):
    st=defaultdict(lambda:[0,0,0,0])
    for p in P:
        a=f(p['answer'],p['focused'],p['question'])
        for k in (p['dataset'].split('-')[0],'all'):
            s=st[k]; s[0]+=a and p['label']; s[1]+=a and not p['label']; s[2]+=(not a) and p['label']; s[3]+=1
    print(label, {k:(f"P={v[0]/max(1,v[0]+v[1]):.3f} R={v[0]/max(1,v[0]+v[2]):.3f} tp={v[0]} fp={v[1]}") for k,v in st.items()})
ev(v_names,'names')
for p in P:
    if agrees(p['answer'],p['focused'],p['question']) and not v_names(p['answer'],p['focused'],p['question']):
        print(p['label'], p['id'], '|A:', p['answer'][:120], '|F:', p['focused'][:120])
