"""The measurements themselves: model loads, ingestion, retrieval at size, answers.

Each returns a frozen record; none prints or decides pass/fail (``report`` does).
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from embeddings.embedder import Embedder
from rag.bench.reference import LlamaSpeed
from rag.bench.stats import Summary, summarize
from rag.bench.synthetic import Pool, synthetic_corpus
from rag.ingest import Ingestor
from rag.pipeline import Assistant
from rag.retrieve import Retriever
from rag.snapshot import PassageIndex, SegmentedIndex
from rag.store import Store
from rag.types import Document

T = TypeVar("T")
EF_SWEEP = (16, 32, 64, 96, 128, 256)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


@dataclass(frozen=True)
class IngestRate:
    what: str
    passages: int
    sentences: int
    seconds: float

    @property
    def passages_per_s(self) -> float:
        return self.passages / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "passages": self.passages, "sentences": self.sentences,
                "seconds": self.seconds, "passages_per_s": self.passages_per_s}


def ingest_rate(embedder: Embedder, what: str, chunk_chars: int, paths: Sequence[Path] = (),
                documents: Sequence[Document] = ()) -> IngestRate:
    """A from-scratch ingest (files or parsed documents) into a throw-away index folder."""
    with tempfile.TemporaryDirectory(prefix="rag-bench-ingest-") as tmp:
        ingestor = Ingestor(Store(Path(tmp) / "index"), embedder, chunk_chars)
        report = ingestor.ingest(list(paths)) if paths else ingestor.ingest_documents(list(documents))
    return IngestRate(what, report.passages_embedded, report.sentences_embedded, report.embedding_seconds)


@dataclass(frozen=True)
class RetrievalAtSize:
    passages: int
    sentences: int
    index_kind: str
    ef_search: int | None
    corpus_build_s: float
    index_build_s: float
    retriever_build_s: float
    search: Summary
    dense: Summary
    lexical: Summary
    recall_at_10: float
    top_k_agreement: float
    agreement_queries: int
    ef_sweep: tuple[dict[str, float], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["ef_sweep"] = list(self.ef_sweep)
        for key in ("search", "dense", "lexical"):
            out[key] = getattr(self, key).to_json()
        return out


def retrieval_at_size(pool: Pool, n: int, queries: Sequence[str], qvecs: np.ndarray, embedder: Embedder,
                      workdir: Path, top_k: int = 8, agreement_queries: int = 20, seed: int = 0) -> RetrievalAtSize:
    """Latency of the whole ``Retriever.search`` (dense + sentences + BM25 + fusion) on a synthetic corpus.

    Recall@10 compares the chosen index with exact flat search on the same
    vectors; top-k agreement compares the fused hits with the exact path (flat
    index and a scan over every sentence vector) on the first queries.
    """
    corpus, corpus_s = timed(lambda: synthetic_corpus(pool, n, workdir, seed))
    retriever, retriever_s = timed(lambda: Retriever(corpus.snapshot, embedder))
    index = corpus.snapshot.passage_index
    assert isinstance(index, SegmentedIndex)
    search_t: list[float] = []
    dense_t: list[float] = []
    lexical_t: list[float] = []
    retriever.search(queries[0], top_k, qvec=qvecs[0])
    for query, qvec in zip(queries, qvecs, strict=True):
        started = time.perf_counter()
        retriever.search(query, top_k, qvec=qvec)
        search_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.search(qvec[None, :], retriever.candidates)
        dense_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        retriever.lexical_ranking(query, retriever.candidates)
        lexical_t.append(time.perf_counter() - started)
    _, exact = corpus.exact.search(qvecs, 10)
    recall = _recall(index, qvecs, exact)
    sweep = []
    chosen_ef = index.ef_search
    if chosen_ef is not None:
        for ef in EF_SWEEP:
            index.ef_search = ef
            times = []
            for v in qvecs:
                started = time.perf_counter()
                index.search(v[None, :], retriever.candidates)
                times.append(time.perf_counter() - started)
            sweep.append({"ef_search": ef, "recall_at_10": _recall(index, qvecs, exact),
                          "dense_p95_s": summarize(times).p95})
        index.ef_search = chosen_ef
    exact_path = copy.copy(retriever)
    exact_path.snapshot = dataclasses.replace(corpus.snapshot, passage_index=corpus.exact)
    exact_path.sentence_scan_max = len(corpus.snapshot.sentence_vectors)
    agree = []
    for query, qvec in list(zip(queries, qvecs, strict=True))[:agreement_queries]:
        got = {h.passage.passage_id for h in retriever.search(query, top_k, qvec=qvec)[0]}
        want = {h.passage.passage_id for h in exact_path.search(query, top_k, qvec=qvec)[0]}
        agree.append(len(got & want) / (len(want) or 1))
    return RetrievalAtSize(
        passages=n, sentences=len(corpus.snapshot.sentence_vectors), index_kind=index.kind,
        ef_search=index.ef_search, corpus_build_s=corpus_s, index_build_s=corpus.build_index_s,
        retriever_build_s=retriever_s, search=summarize(search_t), dense=summarize(dense_t),
        lexical=summarize(lexical_t), recall_at_10=recall, top_k_agreement=float(np.mean(agree)) if agree else 1.0,
        agreement_queries=len(agree), ef_sweep=tuple(sweep),
    )


def _recall(index: PassageIndex, qvecs: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    _, approx = index.search(qvecs, k)
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact, strict=True)]))


@dataclass(frozen=True)
class AnswerRuns:
    question: str
    warm_up_s: float
    first_token: Summary
    tokens_per_s: Summary
    total: Summary
    retrieve: Summary
    answers: tuple[str, ...]
    raw: tuple[LlamaSpeed, ...] = ()
    gen_vs_raw: tuple[float, ...] = ()
    checked: Summary | None = None
    """Until the checked answer (what the reader waits for); ``sourced`` until other articles' quotes are in too."""
    sourced: Summary | None = None

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "warm_up_s": self.warm_up_s, "first_token_s": self.first_token.to_json(),
                "tokens_per_s": self.tokens_per_s.to_json(), "total_s": self.total.to_json(),
                "checked_s": None if self.checked is None else self.checked.to_json(),
                "sourced_s": None if self.sourced is None else self.sourced.to_json(),
                "retrieve_s": self.retrieve.to_json(), "answers": list(self.answers),
                "raw": [dataclasses.asdict(r) for r in self.raw],
                "gen_vs_raw": list(self.gen_vs_raw)}


INTERLUDES = (
    "Wie viele Menschen wurden bei den Protesten festgenommen?",
    "Where did Putin and Lukashenko meet?",
    "Who is Svetlana Tikhanovskaya?",
)
MIN_RAW_TOKENS = 32
RawSpeed = Callable[[int, int], LlamaSpeed]


def answer_runs(assistant: Assistant, question: str, runs: int = 3,
                interludes: Sequence[str] = INTERLUDES, raw: RawSpeed | None = None) -> AnswerRuns:
    """``warm_up`` once, then ``question`` ``runs`` times with models warm, each time as a new question.

    Before each timed run another question is answered (untimed): the KV cache then holds that
    question's state, not this one's, so the timed run evaluates its sources as a user's fresh
    question would, with only the fixed system prompt already cached.

    ``raw(prompt_tokens, tokens)`` measures raw llama.cpp right after each timed answer, at that
    answer's context length and decode length: the machine's speed drifts by about 10% between
    minutes, so our speed is compared with a reference taken in the same minute, pair by pair.
    """
    _, warm_s = timed(assistant.warm_up)
    answers = []
    refs: list[LlamaSpeed] = []
    ratios: list[float] = []
    for i in range(runs):
        if interludes:
            assistant.ask(interludes[i % len(interludes)])
        answer = assistant.ask(question)
        answers.append(answer)
        t = answer.timings
        if raw is not None and t.prompt_tokens:
            ref = raw(t.prompt_tokens, max(t.tokens or 0, MIN_RAW_TOKENS))
            refs.append(ref)
            if t.tokens_per_s:
                ratios.append(t.tokens_per_s / ref.gen_tokens_per_s)
    first = [a.timings.first_token_s for a in answers if a.timings.first_token_s is not None]
    tps = [a.timings.tokens_per_s for a in answers if a.timings.tokens_per_s]
    return AnswerRuns(question, warm_s, summarize(first), summarize(tps),
                      summarize([a.timings.total_s for a in answers]),
                      summarize([a.timings.retrieve_s for a in answers]), tuple(a.answer for a in answers),
                      tuple(refs), tuple(ratios), summarize([a.timings.checked_s for a in answers]),
                      summarize([a.timings.sourced_s for a in answers]))
