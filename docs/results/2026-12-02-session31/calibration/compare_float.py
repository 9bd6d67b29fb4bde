import numpy as np
def load(d,k):
    z=np.load(f"/tmp/s31/peaks-{d}-{k}.npz"); return z["peaks"], z["w"]
ref64,w=load("double","native")
def e(p): 
    s=np.clip(p,1e-5,None)**0.5/np.clip(w,1e-5,None)**0.5
    return np.log2(np.clip(s,1e-3,1e3))
l=e(ref64); dist=np.abs(l-np.round(l)); frac=np.abs(np.abs(l-np.floor(l))-0.5)
print("channels", l.size, "closest to a rounding boundary (in log2):", np.sort(frac.ravel())[:5])
for d in ("float","double"):
    for k in ("native","avx2","default"):
        p,_=load(d,k)
        rel=np.abs(p-ref64)/ref64
        le=e(p)
        print(d,k,"max rel diff to float64-native %.2e"%rel.max(), "median %.2e"%np.median(rel), "exponent flips vs f64:", int((np.round(le)!=np.round(l)).sum()))
for k in ("avx2","default"):
    a,_=load("float","native"); b,_=load("float",k)
    print("float native vs",k,"max rel %.2e"%(np.abs(a-b)/np.abs(a)).max(), "identical:", np.array_equal(a,b))
    a,_=load("double","native"); b,_=load("double",k)
    print("double native vs",k,"max rel %.2e"%(np.abs(a-b)/np.abs(a)).max(), "identical:", np.array_equal(a,b))
# expected flips for a perturbation size
rel32 = max((np.abs(load("float",k)[0]-load("float","native")[0])/load("float","native")[0]).max() for k in ("avx2","default"))
print("rel32",rel32)
for r in (1e-6,1e-5,1e-4,1e-3):
    print("perturb",r,"channels within 0.5*log2(1+r) of a boundary:", int((frac< 0.5*np.log2(1+r)).sum()))
