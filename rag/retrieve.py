"""Hybrid retrieval: dense (FAISS) and lexical (BM25, ``rag.lexical``) fused by reciprocal rank.

Dense search carries meaning across languages; BM25 over normalised tokens
catches the names and numbers that embeddings blur. Within the best passages
we then pick the sentences that matter, because a small model answers best
from a few relevant sentences, most relevant first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.embedder import Embedder
from rag.answer_kind import Preference
from rag.backend import IndexSnapshot
from rag.textnorm import tokens
from rag.types import Evidence, Hit, Passage, Sentence

RRF_K = 60
SENTENCE_SCAN_MAX = 50_000


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` of ``np.argsort(-scores, kind="stable")``, without sorting everything.

    Same order and same tie-breaking (lower index first) as the full sort, so
    results do not change; at 100k passages a full argsort alone costs ~10 ms.
    """
    if n <= 0:
        return np.zeros(0, np.int64)
    if n >= len(scores):
        return np.argsort(-scores, kind="stable")
    neg = -scores
    kth = np.partition(neg, n - 1)[n - 1]
    idx = np.flatnonzero(neg <= kth)
    return idx[np.argsort(neg[idx], kind="stable")][:n]


@dataclass(frozen=True)
class Retrieval:
    hits: tuple[Hit, ...]
    evidence: tuple[Evidence, ...]
    query_vector: np.ndarray
    best_similarity: float


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K, weights: Sequence[float] | None = None) -> dict[int, float]:
    """Weighted reciprocal-rank fusion: sum of weight / (k + rank) over the rankings."""
    fused: dict[int, float] = defaultdict(float)
    for j, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[j]
        for rank, item in enumerate(ranking):
            fused[item] += w / (k + rank + 1)
    return fused


class Retriever:
    """Searches one index snapshot; the embedder is passed in, never created here."""

    def __init__(self, snapshot: IndexSnapshot, embedder: Embedder, candidates: int = 50,
                 lexical_scale: float = 0.5, sentence_scan_max: int = SENTENCE_SCAN_MAX) -> None:
        self.snapshot = snapshot
        self.sentence_scan_max = sentence_scan_max
        self.embedder = embedder
        self.candidates = candidates
        self.lexical_scale = lexical_scale
        self.sentence_passage = snapshot.sentence_ids.owners()

    def dense_ranking(self, qvec: np.ndarray, n: int) -> tuple[list[int], np.ndarray]:
        scores, ids = self.snapshot.passage_index.search(qvec[None, :], n)
        return [int(i) for i in ids[0] if i >= 0], scores[0]

    def lexical_ranking(self, query: str, n: int) -> list[int]:
        scores = self.snapshot.lexical.scores(tokens(query))
        order = top_indices(scores, n)
        return [int(i) for i in order if scores[i] > 0]

    def lexical_weight(self, query: str) -> float:
        """Trust BM25 in proportion to how much of the query the corpus vocabulary knows.

        A German question shares most words with German articles; an English one
        only its names and numbers, and then BM25 should merely break ties.
        """
        terms = set(tokens(query))
        known = sum(self.snapshot.lexical.known(t) for t in terms)
        return self.lexical_scale * known / (len(terms) or 1)

    def sentence_ranking(self, qvec: np.ndarray, candidates: Sequence[int] = ()) -> tuple[list[int], np.ndarray]:
        """Passages ordered by their best sentence, and the sentences' similarities.

        Up to ``sentence_scan_max`` sentences every sentence is scored. Above it a
        scan would cost more than the whole latency budget (400k x 768 floats at
        100k passages), so only the sentences of the ``candidates`` passages (the
        dense and lexical hits) are scored; the others get -1 in the returned array.
        """
        vectors = self.snapshot.sentence_vectors
        if len(vectors) <= self.sentence_scan_max:
            sims = vectors @ qvec
            order = top_indices(sims, self.candidates * 4)
        else:
            sids = np.array([sid for pid in dict.fromkeys(candidates) for sid in self.snapshot.sentence_ids[pid]],
                            dtype=np.int64)
            sims = np.full(len(vectors), -1.0, dtype=np.float32)
            if len(sids):
                sims[sids] = vectors[sids] @ qvec
            order = sids[top_indices(sims[sids], self.candidates * 4)]
        seen: dict[int, None] = {}
        for sid in order:
            seen.setdefault(int(self.sentence_passage[int(sid)]), None)
        return list(seen)[: self.candidates], sims

    def search(self, query: str, top_k: int = 6, mode: str = "hybrid",
               qvec: np.ndarray | None = None) -> tuple[list[Hit], np.ndarray, np.ndarray | None]:
        """Top passages by reciprocal-rank fusion of the rankings ``mode`` asks for.

        ``hybrid`` fuses passage vectors, best-sentence vectors and BM25;
        ``dense`` fuses the two vector rankings; ``lexical`` is BM25 alone.
        """
        use_dense = mode in ("hybrid", "dense")
        if qvec is None and use_dense:
            qvec = self.embedder.embed_queries([query])[0]
        n = max(self.candidates, top_k)
        rankings: list[list[int]] = []
        weights: list[float] = []
        dense: list[int] = []
        sims = None
        lexical = self.lexical_ranking(query, n) if mode in ("hybrid", "lexical") else []
        if use_dense and qvec is not None:
            scan = len(self.snapshot.sentence_vectors) <= self.sentence_scan_max
            wide, _ = self.dense_ranking(qvec, n if scan else 4 * n)
            dense = wide[:n]
            by_sentence, sims = self.sentence_ranking(qvec, () if scan else wide + lexical)
            rankings += [dense, by_sentence]
            weights += [1.0, 1.0]
        if lexical:
            rankings.append(lexical)
            weights.append(self.lexical_weight(query) if use_dense else 1.0)
        fused = rrf(rankings, weights=weights)
        ranked = self._distinct(sorted(fused, key=lambda i: -fused[i]), top_k)
        d_rank = {pid: r for r, pid in enumerate(dense)}
        l_rank = {pid: r for r, pid in enumerate(lexical)}
        hits = [Hit(self.snapshot.passages[pid], fused[pid], d_rank.get(pid), l_rank.get(pid)) for pid in ranked]
        return hits, (qvec if qvec is not None else np.zeros(0, np.float32)), sims

    def _distinct(self, ranked: list[int], top_k: int) -> list[int]:
        """The first ``top_k`` passages of ``ranked`` whose texts differ (whitespace aside).

        The same article ingested from two folders is two documents with one text; the draft then
        read one passage twice among its four, and the sources list showed it twice (this machine's
        default index held every seed twice, session 25).
        """
        out: list[int] = []
        seen: set[str] = set()
        for pid in ranked:
            if len(out) >= top_k:
                break
            text = " ".join(self.snapshot.passages[pid].text.split())
            if text not in seen:
                seen.add(text)
                out.append(pid)
        return out

    def retrieve(self, query: str, top_k: int = 6, max_sentences: int = 6,
                 prefer: Preference | None = None) -> Retrieval:
        """Best passages, then the best sentences in them as numbered evidence.

        ``prefer`` marks the sentences of the kind the question asks for (one
        that states a number, for "how many ...?"); they gain its bonus,
        because the sentence with the answer is often not the one most like
        the question: "30 000 Festnahmen" sits below "the protests go on".
        With ``beyond_hits`` the corpus's closest sentences outside the best
        passages compete too, if they are of that kind.
        """
        hits, qvec, sims = self.search(query, top_k)
        assert sims is not None
        q_terms = set(tokens(query))
        pool = [(sid, hit.passage, sent) for hit in hits
                for sid, sent in zip(self.snapshot.sentence_ids[hit.passage.passage_id], hit.passage.sentences,
                                     strict=True)]
        if prefer is not None and prefer.beyond_hits:
            pool += self._preferred_elsewhere(sims, {hit.passage.passage_id for hit in hits}, prefer)
        scored = []
        for sid, passage, sent in pool:
            overlap = len(q_terms & set(tokens(sent.text))) / (len(q_terms) or 1)
            bonus = prefer.bonus if prefer is not None and prefer.test(sent.text) else 0.0
            scored.append((float(sims[sid]) + 0.1 * overlap + bonus, float(sims[sid]), passage, sent, sid))
        scored.sort(key=lambda t: -t[0])
        best = max((s[1] for s in scored), default=0.0)
        chosen = [s for s in scored if s[0] >= scored[0][0] - 0.2][:max_sentences] if scored else []
        evidence = tuple(Evidence(n=i + 1, passage=p, sentence=s, score=sc, sentence_id=sid)
                         for i, (sc, _, p, s, sid) in enumerate(chosen))
        return Retrieval(tuple(hits), evidence, qvec, best)

    def _preferred_elsewhere(self, sims: np.ndarray, taken: set[int],
                             prefer: Preference) -> list[tuple[int, Passage, Sentence]]:
        """Sentences of the preferred kind among the closest ``4 x candidates``, outside the ``taken`` passages."""
        out = []
        for sid in top_indices(sims, self.candidates * 4):
            pid = int(self.sentence_passage[int(sid)])
            if pid in taken or sims[sid] < 0:
                continue
            passage = self.snapshot.passages[pid]
            sent = passage.sentences[self.snapshot.sentence_ids[pid].index(int(sid))]
            if prefer.test(sent.text):
                out.append((int(sid), passage, sent))
        return out
