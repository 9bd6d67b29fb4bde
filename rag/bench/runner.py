"""Runs the bench in an order that keeps the figures honest.

Models are loaded and the answers timed first, so "app peak RSS" is the app's
own high-water mark; the bandwidth probe and the synthetic corpora, which are
big, come after it and only raise the bench's overall peak.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.embedder import Embedder
from rag.bench import archive, measure
from rag.bench.reference import Bandwidth, LlamaSpeed, copy_bandwidth, raw_llama_speed
from rag.bench.stats import peak_rss_bytes, summarize
from rag.bench.synthetic import Pool, pool_from_snapshots, synthetic_documents
from rag.generate import Generator
from rag.pipeline import Assistant
from rag.store import Snapshot

HEADLINE = "What did Putin promise Lukashenko?"
NOTES = [
    "Ingestion: the seeds are ingested from scratch into a temporary index; the synthetic sample is "
    "{sample} documents of 3-5 varied real sentences (embedding 10k-100k passages is impossible "
    "in a bench run), each with its passage and sentence vectors, as in `rag ingest`.",
    "Retrieval corpora: passages of 3-5 real German sentences (seeds + XQuAD) drawn at random, numbers "
    "replaced and made-up names inserted; vectors are NOT embeddings of that text but real embeddings of the "
    "source sentences plus Gaussian noise (cosine ~0.9), passage vectors the noisy mean of their sentences'. "
    "Queries are real XQuAD questions (English and German) embedded by the real embedder.",
    "Retrieval latency is the whole Retriever.search (dense + sentence + BM25 + fusion, query vector given); "
    "query embedding is listed separately. Recall@10 compares the chosen index with exact flat search on the "
    "same vectors; top-8 agreement compares fused hits with the exact path (flat + every sentence scored).",
    "Raw llama.cpp: the same Llama object and threads, run right after each timed answer: one eval of a "
    "prompt from the seeds as long as that answer's prompt, then as many argmax decoding steps as it generated "
    "(at least 32). generation / raw is the median of the per-answer ratios, since the machine's speed drifts "
    "by ~10% from minute to minute. Bandwidth: best of 5 numpy copies of 1 GiB, read + write bytes; "
    "bound = bandwidth / GGUF file size.",
    "Headline answer: each timed run follows another (untimed) question, so only the fixed system prompt is "
    "cached; tokens/s is the generator's own token count over its decode time (first to last token).",
    "RSS: ru_maxrss high-water marks; 'app peak' is taken after both models are loaded and the answers run, "
    "before the bench's own big arrays.",
]


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...] = (10_000, 100_000)
    sample: int = 200
    queries: int = 100
    runs: int = 3
    skip_llm: bool = False
    backends: tuple[str, ...] = ("torch",)
    bandwidth_gb: float = 1.0
    question: str = HEADLINE
    archive: tuple[int, ...] = ()
    archive_index: Path | None = None


@dataclass(frozen=True)
class Parts:
    """What the bench runs on, passed in so tests can use fakes."""

    make_embedder: Callable[[str], Embedder]
    make_generator: Callable[[], Generator] | None
    make_assistant: Callable[[Embedder, Generator], Assistant]
    seeds_dir: Path
    pool_snapshots: Sequence[Snapshot]
    queries: Sequence[str]
    model_bytes: int | None = None
    chunk_chars: int = 500
    machine: dict[str, Any] = field(default_factory=dict)


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(plan: Plan, parts: Parts, log: Callable[[str], None] = _log) -> dict[str, Any]:
    report: dict[str, Any] = {"version": 1, "created": time.time(), "plan": dataclasses.asdict(plan),
                              "machine": parts.machine, "notes": [n.format(sample=plan.sample) for n in NOTES]}
    log("loading the embedder")
    app_backend = plan.backends[-1]
    embedder, embed_load = measure.timed(lambda: _loaded(parts.make_embedder(app_backend)))
    models: dict[str, Any] = {"embedder_load_s": embed_load, "llm_load_s": None, "model_bytes": parts.model_bytes}
    generator = None
    if not plan.skip_llm and parts.make_generator is not None:
        log("loading the LLM")
        generator, models["llm_load_s"] = measure.timed(lambda: _loaded(parts.make_generator()))  # type: ignore[misc]
    models["app_embedder_backend"] = app_backend
    report["models"] = models
    report["rss"] = {"after_models_bytes": peak_rss_bytes()}
    runs = None
    if generator is not None:
        log(f"answering {plan.question!r} {plan.runs} times")
        runs = measure.answer_runs(parts.make_assistant(embedder, generator), plan.question, plan.runs,
                                   raw=_raw_speed(generator, parts))
        report["answer"] = runs.to_json()
    report["rss"]["app_peak_bytes"] = peak_rss_bytes()
    log(f"copy bandwidth ({plan.bandwidth_gb} GB)")
    bandwidth = copy_bandwidth(plan.bandwidth_gb)
    report["bandwidth"] = dataclasses.asdict(bandwidth)
    if generator is not None and runs is not None:
        report["reference"] = _reference(parts, runs, bandwidth)
    pool = pool_from_snapshots(parts.pool_snapshots)
    queries = list(parts.queries[: plan.queries])
    log(f"embedding {len(queries)} queries")
    one_by_one = []
    for q in queries[:20]:
        started = time.perf_counter()
        embedder.embed_queries([q])
        one_by_one.append(time.perf_counter() - started)
    report["query_embedding_s"] = summarize(one_by_one).to_json()
    qvecs = embedder.embed_queries(queries)
    report["ingestion"] = _ingestion(plan, parts, embedder, pool, log)
    report["retrieval"] = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-corpus-") as tmp:
        for n in plan.sizes:
            log(f"retrieval at {n} passages")
            result = measure.retrieval_at_size(pool, n, queries, qvecs, embedder, Path(tmp))
            report["retrieval"].append(result.to_json())
            for f in Path(tmp).iterdir():
                if f.is_dir():
                    shutil.rmtree(f)
                else:
                    f.unlink()
    if plan.archive or plan.archive_index is not None:
        report["archive"] = _archive(plan, pool, report["rss"]["after_models_bytes"], log)
        report["notes"] += archive.NOTES
    report["rss"]["overall_peak_bytes"] = peak_rss_bytes()
    return report


def _archive(plan: Plan, pool: Pool, models_rss: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """The archive section: each size written and measured in child processes (``rag.bench.archive``),
    the app RSS estimated from this run's own RSS after loading the models."""
    note = f"{len(pool.sentences)} real sentences with their real embeddings (seeds and XQuAD indexes)"
    return archive.run_all(pool, note, plan.archive, plan.archive_index, plan.queries,
                           lambda m: log(f"archive: {m}"), models_rss=(models_rss, "this run, after loading them"))


def _loaded(component: Any) -> Any:
    """Force the lazy model load: one tiny query for embedders, the ``llm`` property for llama.cpp."""
    if hasattr(component, "embed_queries"):
        component.embed_queries(["warm up"])
    elif hasattr(component, "llm"):
        _ = component.llm
    return component


def _raw_speed(generator: Generator, parts: Parts) -> measure.RawSpeed | None:
    """Raw llama.cpp on the generator's own ``Llama`` (same weights, same threads); None for other generators."""
    llm = getattr(generator, "llm", None)
    if llm is None:
        return None
    text = " ".join(f.read_text() for f in sorted(parts.seeds_dir.glob("*.txt")))

    def speed(prompt_tokens: int, tokens: int) -> LlamaSpeed:
        _log(f"raw llama.cpp reference: {prompt_tokens} prompt tokens, {tokens} generated")
        return raw_llama_speed(llm, text, prompt_tokens, tokens)

    return speed


def _reference(parts: Parts, runs: measure.AnswerRuns, bw: Bandwidth) -> dict[str, Any] | None:
    """Our answers' speed beside raw llama.cpp measured in the same minutes, and the bandwidth bound."""
    if not runs.raw:
        return None
    speed = _median_speed(runs.raw)
    model_bytes = parts.model_bytes or 0
    bound = bw.gb_per_s * 1e9 / model_bytes if model_bytes else None
    ours = runs.tokens_per_s.median
    paired = summarize(runs.gen_vs_raw).median if runs.gen_vs_raw else None
    return {"llama": dataclasses.asdict(speed), "llama_runs": len(runs.raw), "bandwidth": dataclasses.asdict(bw),
            "model_bytes": model_bytes, "bound_tokens_per_s": bound,
            "ratios": {"gen_vs_raw": paired,
                       "gen_vs_raw_pairs": list(runs.gen_vs_raw),
                       "gen_vs_bound": ours / bound if bound and ours == ours else None,
                       "raw_gen_vs_bound": speed.gen_tokens_per_s / bound if bound else None,
                       "first_token_vs_raw_prompt": runs.first_token.median / speed.prompt_s}}


def _median_speed(runs: Sequence[LlamaSpeed]) -> LlamaSpeed:
    """Field by field median of the raw runs (token counts included, so the table says what was timed)."""
    def med(values: Sequence[float]) -> float:
        return summarize(values).median

    return LlamaSpeed(int(med([r.prompt_tokens for r in runs])), med([r.prompt_s for r in runs]),
                      med([r.prompt_tokens_per_s for r in runs]), int(med([r.gen_tokens for r in runs])),
                      med([r.gen_s for r in runs]), med([r.gen_tokens_per_s for r in runs]))


def _ingestion(plan: Plan, parts: Parts, first: Embedder, pool: Pool, log: Callable[[str], None]) -> dict[str, Any]:
    docs = synthetic_documents(pool, plan.sample, seed=1)
    backends: list[dict[str, Any]] = []
    base = None
    for name in plan.backends:
        log(f"ingestion with the {name} embedder")
        try:
            started = time.perf_counter()
            embedder = first if name == plan.backends[-1] else _loaded(parts.make_embedder(name))
            load_s = time.perf_counter() - started
            seeds = measure.ingest_rate(embedder, "seeds", parts.chunk_chars, paths=[parts.seeds_dir])
            sample = measure.ingest_rate(embedder, "synthetic", parts.chunk_chars, documents=docs)
        except Exception as exc:  # a missing optional backend must not stop the bench
            backends.append({"backend": name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        reused = name == plan.backends[-1]
        entry: dict[str, Any] = {"backend": name, "load_s": None if reused else load_s, "seeds": seeds.to_json(),
                                 "sample": sample.to_json()}
        if base is None:
            base = sample.passages_per_s
        entry["ratio"] = sample.passages_per_s / base if base else None
        backends.append(entry)
    return {"sample_passages": plan.sample, "backends": backends}


def machine_info(threads: int) -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "threads": threads, "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__}
