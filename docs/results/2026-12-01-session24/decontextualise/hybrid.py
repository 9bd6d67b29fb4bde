"""In-passage vectors for retrieval, each top passage's quote picked by its sentences' own vectors (XQuAD)."""
exec(open('decon.py').read().split("measure('alone', S_al)")[0])

def measure2(name, S_rank, S_pick):
    r = Retriever(View(inp, S_rank), emb)
    evid = []
    for q, v, g in zip(qs, qv, golds):
        if g is None: continue
        hits, _, _ = r.search(q['question_en'], top_k=4, mode='hybrid', qvec=v)
        pid, sid = g
        picks = []
        for h in hits[:4]:
            ids2 = list(inp.sentence_ids[h.passage.passage_id])
            picks.append(ids2[int(np.argmax(S_pick[ids2] @ v))])
        evid.append(sid in picks)
    print(f"{name:32s} gold sentence is a top-4 passage's pick {np.mean(evid):.3f}", flush=True)

measure2('alone', S_al, S_al)
measure2('in-passage', S_in, S_in)
measure2('in-passage ranks, alone picks', S_in, S_al)
