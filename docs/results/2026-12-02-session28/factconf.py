import json, sys, math, re
import numpy as np
from llama_cpp import Llama
from rag.settings import Settings
from rag.models import resolve_llm
from rag.checks.adds_to_question import new_words
from rag.textnorm import numbers, tokens as toks
llm = Llama(model_path=str(resolve_llm(Settings.from_env())), vocab_only=True, verbose=False)
D = '/work/main/docs/results/2026-12-01-session21/draft-confidence/'
qs = {}
from rag.eval.runner import qa_dataset
def auc(pos, neg):
    if not pos or not neg: return float("nan")
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
def questions(name):
    if name == 'xquad-tune':
        out = {}
        for l in open('/work/shared/xquad/xquad_en_de_questions.dev.jsonl'):
            q = json.loads(l); out[q['id']] = q['question_en']
        return out
    import rag.eval.runner as R
    path = {'gnad': 'rag/data/gnad_qa.jsonl', 'seeds-tune': 'rag/data/seeds_qa.jsonl'}[name]
    return {json.loads(l)['id']: json.loads(l)['question'] for l in open('/work/main/' + path) if l.strip()}
for name in ['seeds-tune', 'gnad', 'xquad-tune']:
    Q = questions(name)
    rows = [json.loads(l) for l in open(D + f'conf-{name}.jsonl')]
    feats = []
    for r in rows:
        if r.get('floor') or r['refused'] or not r.get('probs'): continue
        draft = r['draft']; q = Q[r['id']]
        ids = llm.tokenize(draft.encode(), add_bos=False, special=False)
        probs = [a for a, _ in r['probs']]
        if len(ids) != len(probs):
            n = min(len(ids), len(probs))
        else:
            n = len(ids)
        # char span of each token
        spans, pos = [], 0
        for t in ids[:n]:
            piece = llm.detokenize([t]).decode('utf-8', 'ignore')
            spans.append((pos, pos + len(piece))); pos += len(piece)
        # fact chars: words new to the question, and numbers new
        newn = numbers(draft) - numbers(q)
        fact = []
        for m in re.finditer(r"\S+", draft):
            w = m.group(0)
            if (numbers(w) & newn) or new_words(w, q):
                fact.append((m.start(), m.end()))
        fp = [probs[i] for i, (a, b) in enumerate(spans) if any(a < fe and b > fs for fs, fe in fact)]
        feats.append(dict(ok=r['ok'], fact_min=min(fp) if fp else 1.0, all_min=min(probs[:n]) if n else 1.0,
                          fact_first=fp[0] if fp else 1.0, aligned=len(ids) == len(probs), id=r['id']))
    ok = [f for f in feats if f['ok']]; bad = [f for f in feats if not f['ok']]
    print(name, 'answered', len(feats), 'ok', len(ok), 'wrong', len(bad), 'aligned', sum(f['aligned'] for f in feats))
    for k in ['fact_min', 'all_min', 'fact_first']:
        print('  %-10s AUC %.3f' % (k, auc([f[k] for f in ok], [f[k] for f in bad])))
        for th in (0.1, 0.2, 0.3, 0.5):
            print('     <%.1f removes wrong %d right %d' % (th, sum(f[k] < th for f in bad), sum(f[k] < th for f in ok)))
