import time, glob, sys, numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
orig='/root/.cache/rag/models/onnx/embeddinggemma-300m-int8-9030f543d73f/model.onnx'
new=sys.argv[1]
tok=Tokenizer.from_file('/root/.cache/rag/models/embeddinggemma-300m/tokenizer.json')
texts=[]
for f in sorted(glob.glob('/work/shared/gnad/articles/*'))[100:160]:
    t=' '.join(open(f,errors='ignore').read().split())
    texts+=[t[i:i+700] for i in range(0,len(t),700) if len(t[i:i+700])>300]
texts=texts[:96]
ids=[tok.encode('title: none | text: '+t).ids for t in texts]
print(len(ids),'mean tokens',np.mean([len(i) for i in ids]))
def sess(p):
    o=ort.SessionOptions(); o.intra_op_num_threads=1; o.inter_op_num_threads=1; o.log_severity_level=3
    return ort.InferenceSession(p,o,providers=['CPUExecutionProvider'])
def run(s,batch):
    L=max(len(i) for i in batch)
    a=np.zeros((len(batch),L),np.int64); mk=np.zeros_like(a)
    for k,i in enumerate(batch): a[k,:len(i)]=i; mk[k,:len(i)]=1
    v=s.run(['sentence_vector'],{'input_ids':a,'attention_mask':mk})[0]
    return v/np.linalg.norm(v,axis=1,keepdims=True)
so=sess(orig); sn=sess(new); run(so,ids[:1]); run(sn,ids[:1])
t=time.perf_counter(); ref=np.concatenate([run(so,[i]) for i in ids]); ts=time.perf_counter()-t
print('orig single %.2fs'%ts)
order=sorted(range(len(ids)),key=lambda k:len(ids[k]))
for B in (1,2,4,8):
    t=time.perf_counter(); out=np.zeros_like(ref)
    for j in range(0,len(order),B):
        ks=order[j:j+B]; out[ks]=run(sn,[ids[k] for k in ks])
    tb=time.perf_counter()-t
    print('B',B,'%.2fs speedup %.2f'%(tb,ts/tb),'cos min %.7f'%np.sum(out*ref,1).min())
