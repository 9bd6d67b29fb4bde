import numpy as np, onnxruntime as ort, glob, re, json, collections, sys
from tokenizers import Tokenizer
tok=Tokenizer.from_file('/root/.cache/rag/models/embeddinggemma-300m/tokenizer.json')
texts=[]
for f in sorted(glob.glob('/work/shared/gnad/articles/*'))[:40]:
    t=open(f,errors='ignore').read()
    texts+= [s for s in re.split(r'(?<=[.!?])\s+',t) if 20<len(s)<400]
ids=sorted([tok.encode('title: none | text: '+t).ids for t in texts[:256]],key=len)
o=ort.SessionOptions(); o.intra_op_num_threads=1; o.log_severity_level=3; o.enable_profiling=True
s=ort.InferenceSession(sys.argv[1],o,providers=['CPUExecutionProvider'])
B=int(sys.argv[2])
for j in range(0,len(ids),B):
    batch=ids[j:j+B]; L=max(len(i) for i in batch)
    a=np.zeros((len(batch),L),np.int64); mk=np.zeros_like(a)
    for k,i in enumerate(batch): a[k,:len(i)]=i; mk[k,:len(i)]=1
    s.run(['sentence_vector'],{'input_ids':a,'attention_mask':mk})
p=s.end_profiling()
ev=json.load(open(p)); c=collections.Counter()
for e in ev:
    if e.get('cat')=='Node' and e['name'].endswith('_kernel_time'):
        c[e['args']['op_name']]+=e['dur']
tot=sum(c.values()); print('total ms',tot/1000)
for k,v in c.most_common(15): print(k,'%.0f ms %.1f%%'%(v/1000,100*v/tot))
