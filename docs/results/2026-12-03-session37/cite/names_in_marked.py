"""Do the marked quotes hold the names their answer sentences add to the question?

For every kept answer sentence in a report: the names it adds (rag.grounded.new_facts), and whether
each stands in its first quote, or only in the sentence before the quote (which the focused read
also saw), or in neither.
"""
import json, sys, glob
from pathlib import Path
from rag.chunk import split_sentences
from rag.grounded import new_facts
from rag.names import name_in

texts = {}
for p in glob.glob('/work/main/seeds/*.txt'):
    texts[Path(p).stem] = open(p, encoding='utf-8').read()
for p in glob.glob('/work/shared/gnad/articles/*.txt'):
    texts[Path(p).stem] = open(p, encoding='utf-8').read()
for line in open('/work/shared/xquad/xquad_de_passages.dev.jsonl', encoding='utf-8'):
    d = json.loads(line)
    texts[d.get('doc_id') or d.get('id')] = d.get('text') or d.get('context')

def before_of(doc_id, quote):
    t = texts.get(doc_id)
    if t is None:
        return None
    sents = split_sentences(t)
    for i, s in enumerate(sents):
        if s.text == quote or quote in s.text:
            return sents[i - 1].text if i > 0 else ''
    return None

items = {}
for f in ('/work/main/rag/data/seeds_qa.jsonl', '/work/main/rag/data/gnad_qa.jsonl'):
    for line in open(f):
        d = json.loads(line); items[d['id']] = d
tot = {}
for path in sys.argv[1:]:
    r = json.load(open(path))
    for ds, block in r['datasets'].items():
        st = tot.setdefault(ds, {'sentences': 0, 'with_new_names': 0, 'all_in_quote': 0, 'some_only_before': 0, 'some_nowhere': 0, 'missing_doc': 0, 'examples': []})
        for row in block['rows']:
            if row.get('refused'):
                continue
            lang = items[row['id']]['lang'] if row['id'] in items else 'en'
            cits = {c['n']: c for c in row.get('citations', [])}
            for v in row.get('citation_verdicts', []) or []:
                pass
            # first quote per answer sentence: from the answer text's [n] marks
            import re
            for sent in re.split(r'(?<=[.!?\]])\s+', row['answer']):
                marks = [int(x) for x in re.findall(r'\[(\d+)\]', sent)]
                if not marks or marks[0] not in cits:
                    continue
                c = cits[marks[0]]
                clean = re.sub(r'\s*\[\d+\]', '', sent)
                _, nms = new_facts(clean, row['question'], lang)
                st['sentences'] += 1
                if not nms:
                    continue
                st['with_new_names'] += 1
                before = before_of(c['doc_id'], c['quote'])
                if before is None:
                    st['missing_doc'] += 1
                    continue
                inq = [n for n in nms if name_in(n, c['quote'])]
                inb = [n for n in nms if n not in inq and name_in(n, before)]
                nowhere = [n for n in nms if n not in inq and n not in inb]
                if not inb and not nowhere:
                    st['all_in_quote'] += 1
                if inb:
                    st['some_only_before'] += 1
                if nowhere:
                    st['some_nowhere'] += 1
                if inb or nowhere:
                    st['examples'].append({'id': row['id'], 'correct': row.get('correct', row.get('contains_gold')), 'sentence': clean, 'quote': c['quote'], 'before': before, 'only_before': inb, 'nowhere': nowhere})
json.dump(tot, sys.stdout, indent=1, ensure_ascii=False)
