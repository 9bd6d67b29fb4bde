import glob, json, time, sys
def rss():
    for l in open('/proc/self/status'):
        if l.startswith('RssAnon'): return int(l.split()[1])//1024
import sentencepiece as spm
d='/root/.cache/rag/models/embeddinggemma-300m/'
sp=spm.SentencePieceProcessor(model_file=d+'tokenizer.model'); print('sp rss', rss())
from tokenizers import Tokenizer
hf=Tokenizer.from_file(d+'tokenizer.json'); hf.no_padding(); print('hf rss', rss())
texts=[]
for f in sorted(glob.glob('/work/shared/gnad/articles/*')):
    t=open(f, encoding='utf-8', errors='replace').read(); texts.append(t)
    texts += [l for l in t.splitlines() if l.strip()]
    texts += [s for s in t.replace('\n',' ').split('. ') if s]
for l in open('/work/shared/xquad/xquad_de_passages.dev.jsonl'): texts.append(json.loads(l)['text'])
for l in open('/work/shared/xquad/xquad_de_sentences.dev.jsonl'): texts.append(json.loads(l).get('text',''))
for l in open('/work/shared/xquad/xquad_en_de_questions.dev.jsonl'):
    q=json.loads(l); texts.append(q['question_en']); texts += [a for a in q['answers']]
for f in glob.glob('/work/main/seeds/*'): texts.append(open(f).read())
texts += ["", " ", "  doppelt  Leer ", "\t tab", "emoji 😀 ü ß 𝔘", "<eos> literal", "a\u00a0b", "x\r\ny", "ﬁ ligature", "Café", "e\u0301"]
prompts=["task: search result | query: ", "title: none | text: "]
bad=0; n=0
t0=time.time()
for p in prompts:
    for t in texts:
        s=p+t; n+=1
        a=hf.encode(s).ids
        b=[2]+sp.encode(s)+[1]
        if a!=b:
            bad+=1
            if bad<8: print('DIFF', repr(s[:80]), a[:12], b[:12], len(a), len(b))
print('texts', n, 'differ', bad, round(time.time()-t0,1),'s')
