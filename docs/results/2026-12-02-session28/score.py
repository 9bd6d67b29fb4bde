import json,sys,statistics as st
rows=[json.loads(l) for l in open(sys.argv[1])]
def pr(rs,key):
    tp=sum(r[key] and r['label'] for r in rs); fp=sum(r[key] and not r['label'] for r in rs)
    pos=sum(r['label'] for r in rs)
    return f"yes {tp+fp} tp {tp} fp {fp} prec {tp/max(1,tp+fp):.3f} rec {tp/max(1,pos):.3f}"
for ds in sorted({r['dataset'] for r in rows})+['all']:
    rs=[r for r in rows if ds=='all' or r['dataset']==ds]
    print(ds,len(rs),'| read',pr(rs,'agree'),'| cloze',pr(rs,'agree_cloze'),
      '| t %.2f %.2f'%(st.mean(r['t_read'] for r in rs),st.mean(r['t_cloze'] for r in rs)),
      '| tok %.1f %.1f'%(st.mean(r['tok_read'] or 0 for r in rs),st.mean(r['tok_cloze'] or 0 for r in rs)))
