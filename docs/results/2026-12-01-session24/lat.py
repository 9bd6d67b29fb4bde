import json,sys
def q(v,p):
    v=sorted(v); 
    if not v: return None
    k=p*(len(v)-1); i=int(k); f=k-i
    return round(v[i]+(v[min(i+1,len(v)-1)]-v[i])*f,2)
for f in sys.argv[1:]:
    d=json.load(open(f))['datasets']
    for name,x in d.items():
        if '/' in name: continue
        rows=x['rows']
        ck=[r['timings']['checked_s'] for r in rows if r['timings'].get('checked_s')]
        ft=[r['timings']['first_token_s'] for r in rows if r['timings'].get('first_token_s')]
        vs=[r['timings'].get('verify_s') or 0 for r in rows if r['timings'].get('first_token_s')]
        cs=[(r['timings'].get('checks') or {}).get('focused_read_calls',0) for r in rows]
        tot=x['totals']
        on=tot.get('on',tot) if isinstance(tot,dict) else {}
        print(f"{f.split('/')[-2]:14s} {name:11s} checked p50 {q(ck,.5)} p95 {q(ck,.95)} | first {q(ft,.5)} verify p50 {q(vs,.5)} p95 {q(vs,.95)} reads mean {sum(cs)/len(cs):.2f}")
