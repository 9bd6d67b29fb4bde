"""Late chunking: sentence vectors pooled from the passage's own run vs embedded alone (float model)."""
import os, json, sys, time, re
import numpy as np
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
torch.set_num_threads(2)
from sentence_transformers import SentenceTransformer
from rag.settings import Settings
from rag.models import resolve_embedder
from rag.chunk import chunk_document
from rag.types import Document, text_digest
from rag.eval.xquad import load_xquad

model = SentenceTransformer(str(resolve_embedder(Settings())), device="cpu", local_files_only=True).eval()
DOC = model.prompts["document"]; QRY = model.prompts["query"]
tok = model.tokenizer

def head(x):
    f = {"sentence_embedding": x}
    for m in list(model)[2:]:
        f = m(f)
    return f["sentence_embedding"]

@torch.no_grad()
def passage_run(text, spans):
    """Passage vector and one late-chunked vector per (start, end) span of ``text``."""
    enc = tok([DOC + text], return_offsets_mapping=True, return_tensors="pt")
    offs = enc.pop("offset_mapping")[0].tolist()
    states = model[0]({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})["token_embeddings"][0]
    p = head(states.mean(0, keepdim=True))[0]
    n = len(DOC)
    out = []
    for a, b in spans:
        idx = [i for i, (s, e) in enumerate(offs) if e > s and s < n + b and e > n + a]
        out.append(head(states[idx].mean(0, keepdim=True))[0])
    vs = torch.stack([p] + out).numpy()
    return vs / np.linalg.norm(vs, axis=1, keepdims=True)

def enc_docs(texts):
    return model.encode(texts, prompt_name="document", normalize_embeddings=True, batch_size=8, convert_to_numpy=True)

def build(docs):
    passages = [p for d in docs for p in chunk_document(d, 500)]
    sents, owner, late, pvec = [], [], [], []
    t0 = time.time()
    for i, p in enumerate(passages):
        spans = [(s.start - p.start, s.end - p.start) for s in p.sentences]
        v = passage_run(p.text, spans)
        pvec.append(v[0]); late.extend(v[1:])
        for s in p.sentences:
            sents.append(s); owner.append(i)
    t_late = time.time() - t0
    t0 = time.time()
    std = enc_docs([s.text for s in sents])
    t_std = time.time() - t0
    pv_check = enc_docs([passages[0].text])[0]
    print(f"{len(passages)} passages, {len(sents)} sentences; passage pass {t_late:.0f}s, sentence pass {t_std:.0f}s;"
          f" passage vector check cos {float(pv_check @ pvec[0]):.5f}", flush=True)
    return passages, sents, np.array(owner), np.array(pvec), std, np.array(late)

def rrf(rankings, k=60):
    f = {}
    for r in rankings:
        for i, x in enumerate(r):
            f[x] = f.get(x, 0) + 1 / (k + i + 1)
    return sorted(f, key=lambda x: -f[x])

def evaluate(name, passages, sents, owner, pvec, svec_sets, questions):
    """questions: (query text, gold passage index set, gold sentence index set)."""
    q = model.encode([x[0] for x in questions], prompt_name="query", normalize_embeddings=True, convert_to_numpy=True)
    res = {}
    for label, sv in svec_sets.items():
        r1 = r5 = f1 = f5 = e1 = e6 = ev6 = 0
        for qi, (_, gp, gs) in enumerate(questions):
            sims = sv @ q[qi]
            order = np.argsort(-sims)
            seen = []
            for sid in order:
                o = int(owner[sid])
                if o not in seen:
                    seen.append(o)
                if len(seen) >= 50:
                    break
            dense = list(np.argsort(-(pvec @ q[qi]))[:50])
            fused = rrf([dense, seen])
            r1 += seen[0] in gp; r5 += bool(set(seen[:5]) & gp)
            f1 += fused[0] in gp; f5 += bool(set(fused[:5]) & gp)
            # evidence: sentences of the top-6 fused passages ranked by similarity; is a gold sentence in the top 6?
            pool = [s for s in range(len(sents)) if owner[s] in set(fused[:6])]
            pool.sort(key=lambda s: -sims[s])
            ev6 += bool(set(pool[:6]) & gs)
            # within the gold passage, is the gold sentence ranked first?
            inside = [s for s in range(len(sents)) if owner[s] in gp]
            inside.sort(key=lambda s: -sims[s])
            e1 += bool(inside and inside[0] in gs)
        n = len(questions)
        res[label] = dict(by_sentence_r1=r1 / n, by_sentence_r5=r5 / n, fused_r1=f1 / n, fused_r5=f5 / n,
                          gold_sentence_first_in_passage=e1 / n, gold_sentence_in_evidence6=ev6 / n)
        print(name, label, {k: round(v, 3) for k, v in res[label].items()}, flush=True)
    return res

out = {}
# XQuAD
ps, qs = load_xquad()
docs = [Document(doc_id=p["id"], path="", text=p["text"], title=p["title"], content_hash=text_digest(p["text"])) for p in ps]
sent_rows = [json.loads(l) for l in open("/work/shared/xquad/xquad_de_sentences.dev.jsonl")]
gold_span = {r["id"]: (r["passage_id"], r["start"], r["end"]) for r in sent_rows}
passages, sents, owner, pvec, std, late = build(docs)
questions = []
for qd in qs:
    pid, a, b = gold_span[qd["gold_sentence_id_de"]]
    gs = {i for i, s in enumerate(sents) if passages[owner[i]].doc_id == pid and s.start < b and s.end > a}
    gp = {int(owner[i]) for i in gs}
    if gs:
        questions.append((qd["question_en"], gp, gs))
out["xquad"] = evaluate("xquad", passages, sents, owner, pvec, {"alone": std, "late": late, "mix": None} if False else {"alone": std, "late": late}, questions)
# GNAD dev: the support articles of the questions plus 40 more
from pathlib import Path
qa = [json.loads(l) for l in open("rag/data/gnad_qa.jsonl")]
art = Path("/work/shared/gnad/articles")
ids = sorted({s["doc_id"] for q in qa for s in q.get("support", [])})
files = sorted(art.iterdir())
import random
random.seed(3)
extra = [f.stem for f in random.sample(files, 60)]
ids = sorted(set(ids) | set(extra))
from rag.parse import parse_file
docs = []
for i in ids:
    f = next(art.glob(i + ".*"))
    d = parse_file(f)
    docs.append(d if isinstance(d, Document) else d[0])
passages, sents, owner, pvec, std, late = build(docs)
questions = []
for q in qa:
    if not q.get("answerable") or not q.get("support") or q.get("history"):
        continue
    gs = set()
    for sup in q["support"]:
        quote = re.sub(r"\s+", " ", sup["quote"])[:60]
        for i, s in enumerate(sents):
            if passages[owner[i]].doc_id == sup["doc_id"] and (quote[:40] in re.sub(r"\s+", " ", s.text) or re.sub(r"\s+", " ", s.text)[:40] in quote):
                gs.add(i)
    if gs:
        questions.append((q["question"], {int(owner[i]) for i in gs}, gs))
print("gnad questions", len(questions))
out["gnad"] = evaluate("gnad", passages, sents, owner, pvec, {"alone": std, "late": late}, questions)
json.dump(out, open("/tmp/s22/late.json", "w"), indent=1)
