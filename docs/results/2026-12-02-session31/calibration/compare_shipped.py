import numpy as np
L=lambda n: np.load(f"/tmp/s31/peaks-{n}.npz")
ref=L("rope64-native"); w=ref["w"]
def e(p): return np.log2(np.clip(np.clip(p,1e-5,None)**0.5/np.clip(w,1e-5,None)**0.5,1e-3,1e3))
l=e(ref["peaks"]); frac=np.abs(np.abs(l-np.floor(l))-0.5)
print("closest to a boundary (log2):", np.sort(frac.ravel())[:3])
for n in ("rope64-avx2","rope64-default","double-native","float-native","float-avx2","float-default"):
    p=L(n)["peaks"]; rel=np.abs(p-ref["peaks"])/ref["peaks"]
    print(n, "max rel %.2e"%rel.max(), "flips", int((np.round(e(p))!=np.round(l)).sum()))
