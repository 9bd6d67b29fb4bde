import json,sys
exec(open('/tmp/s25/agree.py').read().split("rules=")[0])
from rag.grounded import new_facts
from rag.names import name_in
from rag.language import detect_language
def nq(p):
    _,nms=new_facts(p['answer'],p['question'],detect_language(p['question']))
    return all(name_in(x,p['source']) for x in nms)
R={'half (product)':lambda p: agrees(p['answer'],p['focused'],p['question']),
   'half or reply within claim':lambda p: v_sym(p['answer'],p['focused'],p['question']),
   'one word':lambda p: v_one(p['answer'],p['focused'],p['question']),
   'half and names in quote':lambda p: agrees(p['answer'],p['focused'],p['question']) and nq(p)}
for name,f in R.items():
    tp=fp=fn=0
    for p in P:
        a=p['p_yes']>=0.5 and f(p)
        tp+=a and p['label']; fp+=a and not p['label']; fn+=(not a) and p['label']
    print(f"{name}: P={tp/(tp+fp):.3f} R={tp/(tp+fn):.3f}")
