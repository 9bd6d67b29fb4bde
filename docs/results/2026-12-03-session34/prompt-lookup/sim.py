import json, itertools, sys
sys.path.insert(0, "/work/main")
from rag.prompt_lookup import PromptLookup
calls = json.load(open('/tmp/s34/calls.json'))
pts = {1:88, 2:120, 3:154, 5:189, 8:296, 11:378, 16:480}
def cost(b):
    ks = sorted(pts)
    for lo, hi in zip(ks, ks[1:]):
        if lo <= b <= hi: return pts[lo] + (pts[hi]-pts[lo])*(b-lo)/(hi-lo)
    return pts[16]
def run(make, adaptive=True):
    total = base = 0.0; guessed = kept_all = 0
    for c in calls:
        prompt, comp = c['prompt'], c['completion']
        lk = make(); p = 1
        while p <= len(comp):
            base += cost(1)
            hist = prompt + comp[:p]
            g = lk.propose(hist) if p < len(comp) else lk.propose(hist)
            rest = comp[p:] + [-1]
            k = 0
            while k < len(g) and g[k] == rest[k]: k += 1
            total += cost(1 + len(g))
            if adaptive: lk.kept(len(g), k)
            guessed += len(g); kept_all += k
            p += k + 1
        base += 0  # counted per token above
    base = sum(len(c['completion']) for c in calls) * cost(1)
    return total/1000, base/1000, guessed, kept_all
print("base s", run(lambda: PromptLookup(1, 1, 1))[1])
for tokens, mx, mn, ad in itertools.product([2,4,6,8,12], [2,3,4,5], [1,2,3], [True, False]):
    if mn > mx: continue
    t, b, g, k = run(lambda: PromptLookup(tokens, mx, mn), ad)
    print(f"k={tokens} ngram {mn}-{mx} adaptive={ad}: {t:.1f}s vs {b:.1f}s ({t/b:.2f}) guessed {g} kept {k}")
