import json
rows=[]
a=json.load(open('/tmp/s28/eval-seeds-gnad/report.json'))['datasets']
x=json.load(open('/tmp/s28/eval-xquad/report.json'))['datasets'] if __import__('os').path.exists('/tmp/s28/eval-xquad/report.json') else {}
def f(v): return '-' if v is None else ('%.3f'%v if isinstance(v,float) else str(v))
for name in ['seeds-tune','seeds-gate','gnad']:
    for sec in [name, name+'/plain']:
        if sec not in a: continue
        t=a[sec]['totals']
        ck=t.get('checked_s') or {}
        print(sec, 'correct', f(t.get('answer_correctness')), 'wrong', f(t.get('answered_wrong')), 'unans', f(t.get('unanswerable_refused')),
              'citprec', f(t.get('citation_precision')), 'untr', f(t.get('untranslated')),
              'checked p50/p95', f(ck.get('p50')), f(ck.get('p95')), 'tok/s', f((t.get('tokens_per_s') or {}).get('p50')))
        if 'verification' in t:
            o=t['verification']['off']; print('    unverified', f(o.get('answer_correctness')), f(o.get('answered_wrong')), 'untr', f(o.get('untranslated')))
for sec in x:
    t=x[sec]['totals']; an=t.get('answers') or {}
    ck=t.get('checked_s') or {}
    print(sec, {k:f(v) for k,v in an.items() if k in ('contains_gold','answered_wrong','untranslated','citation_precision','refused')}, 'checked', {k:f(v) for k,v in (t.get('checked_s') or {}).items()})
    if 'verification' in t:
        o=t['verification']['off']; print('    unverified', f(o.get('contains_gold')), f(o.get('answered_wrong')), 'untr', f(o.get('untranslated')))
