import numpy as np, onnxruntime as ort, glob, re, collections, sys
from tokenizers import Tokenizer
tok=Tokenizer.from_file('/root/.cache/rag/models/embeddinggemma-300m/tokenizer.json')
texts=[]
for f in sorted(glob.glob('/work/shared/gnad/articles/*'))[:80]:
    t=open(f,errors='ignore').read()
    texts+= [s for s in re.split(r'(?<=[.!?])\s+',t) if 20<len(s)<400]
ids=[tok.encode('title: none | text: '+t).ids for t in texts]
o=ort.SessionOptions(); o.intra_op_num_threads=1; o.log_severity_level=3
s=ort.InferenceSession(sys.argv[1],o,providers=['CPUExecutionProvider'])
def run(batch):
    L=max(len(i) for i in batch)
    a=np.zeros((len(batch),L),np.int64); mk=np.zeros_like(a)
    for k,i in enumerate(batch): a[k,:len(i)]=i; mk[k,:len(i)]=1
    return s.run(['sentence_vector'],{'input_ids':a,'attention_mask':mk})[0]
by=collections.defaultdict(list)
for i in ids: by[len(i)].append(i)
grp=[v[:8] for v in by.values() if len(v)>=8][:5]
for g in grp:
    b=run(g); one=np.concatenate([run([i]) for i in g])
    print(len(g[0]),'equal-length max|d| %.2e'%np.abs(b-one).max())
g=grp[0][:4]+[grp[1][0]]
b=run(g); one=np.concatenate([run([i]) for i in g]); print('mixed: per-row max|d|',np.abs(b-one).max(1))
