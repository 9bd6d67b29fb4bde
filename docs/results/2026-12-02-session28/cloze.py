"""Offline: the current focused read against a cloze read (reply started with the claim up to its first new fact)."""
import json, re, sys, time
from rag.settings import Settings
from rag.factory import build_generator
from rag.focused import FocusedReader, agrees, READ_SYSTEM
from rag.prompt import passage_message, says_nothing
from rag.language import detect_language
from rag.checks.adds_to_question import new_words
from rag.textnorm import numbers

def lead(claim, question):
    for m in re.finditer(r"\S+", claim):
        w = m.group(0)
        if new_words(w, question) or (numbers(w) - numbers(question)):
            return claim[:m.start()].rstrip()
    return claim.rstrip()

settings = Settings.from_env()
gen = build_generator(settings)
reader = FocusedReader(gen)
rows = [json.loads(l) for l in open(sys.argv[1])]
out = open(sys.argv[2], 'w')
for i, r in enumerate(rows):
    q, claim, src = r['question'], r['answer'], r['source']
    lang = detect_language(q)
    t = time.perf_counter(); reply = reader(q, src, lang); t1 = time.perf_counter() - t
    ntok1 = gen.last_stats.tokens if gen.last_stats else None
    pre = lead(claim, q)
    msgs = [{"role": "system", "content": READ_SYSTEM}, passage_message(src, q, lang)]
    if pre:
        msgs.append({"role": "assistant", "content": pre})
    t = time.perf_counter(); cont = ""
    for piece in gen.stream(msgs, 32, 0.0):
        cont += piece
        whole = cont[: max(0, *(cont.rfind(c) for c in " \n\t"))].strip()
        if whole and says_nothing(whole):
            break
    t2 = time.perf_counter() - t
    ntok2 = gen.last_stats.tokens if gen.last_stats else None
    cloze = (pre + " " + cont.strip()).strip() if pre else cont.strip()
    rec = dict(dataset=r['dataset'], id=r['id'], label=r['label'], question=q, claim=claim, prefix=pre,
               reply=reply, cloze=cloze, agree=agrees(claim, reply, q), agree_cloze=agrees(claim, cloze, q),
               t_read=t1, t_cloze=t2, tok_read=ntok1, tok_cloze=ntok2)
    out.write(json.dumps(rec, ensure_ascii=False) + "\n"); out.flush()
    print(i, r['dataset'], r['id'], r['label'], rec['agree'], rec['agree_cloze'], '%.2f %.2f' % (t1, t2), flush=True)
