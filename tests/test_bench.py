"""``rag bench`` on fakes: the report has its fields, synthetic corpora are deterministic. No timing asserts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, STORED_ATOL, MakeAssistant
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources

from rag.bench.command import backends, with_backend
from rag.bench.report import render, targets, write
from rag.bench.runner import Parts, Plan, run
from rag.bench.stats import summarize
from rag.bench.synthetic import pool_from_snapshots, synthetic_corpus, synthetic_documents, synthetic_texts, vary
from rag.cli import build_parser
from rag.errors import InputError
from rag.settings import Settings
from rag.store import Snapshot

QUERIES = ["Was versprach Putin Lukaschenko?", "What did Putin promise?", "80,1 Prozent", "Tichanowskaja"]


def test_synthetic_texts_and_vectors_are_deterministic(snapshot: Snapshot, tmp_path: Path) -> None:
    pool = pool_from_snapshots([snapshot])
    assert len(pool.sentences) == len(pool.vectors) == len(snapshot.sentence_vectors)
    assert synthetic_texts(pool, 50, seed=3) == synthetic_texts(pool, 50, seed=3)
    assert synthetic_texts(pool, 50, seed=3) != synthetic_texts(pool, 50, seed=4)
    a = synthetic_corpus(pool, 120, tmp_path / "a", seed=3)
    b = synthetic_corpus(pool, 120, tmp_path / "b", seed=3)
    np.testing.assert_array_equal(a.passage_vectors, b.passage_vectors)
    np.testing.assert_array_equal(np.asarray(a.snapshot.sentence_vectors), np.asarray(b.snapshot.sentence_vectors))
    assert [p.text for p in a.snapshot.passages] == [" ".join(t) for t in synthetic_texts(pool, 120, seed=3)]
    snap = a.snapshot
    assert len(snap.passages) == snap.passage_index.size == 120 and snap.passage_index.kind == "flat"
    n_sentences = sum(len(p.sentences) for p in snap.passages)
    assert len(snap.sentence_vectors) == sum(map(len, snap.sentence_ids)) == n_sentences
    np.testing.assert_allclose(np.linalg.norm(a.passage_vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(snap.sentence_vectors), axis=1), 1.0, atol=STORED_ATOL)
    for p, sids in zip(snap.passages, snap.sentence_ids, strict=True):
        doc = snap.documents[p.doc_id]
        assert doc.text[p.start:p.end] == p.text
        assert all(doc.text[s.start:s.end] == s.text for s in p.sentences) and len(sids) == len(p.sentences)


def test_synthetic_documents_are_new_text_of_the_pool(snapshot: Snapshot) -> None:
    pool = pool_from_snapshots([snapshot])
    docs = synthetic_documents(pool, 10, seed=1)
    assert len({d.doc_id for d in docs}) == 10 and all(d.text and d.content_hash for d in docs)
    assert docs == synthetic_documents(pool, 10, seed=1)
    rng = np.random.default_rng(0)
    assert vary("Er bekam 80,1 Prozent.", rng) != "Er bekam 80,1 Prozent."


def test_summarize() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.median == 3.0 and 4.0 < s.p95 <= 100.0 and s.n == 5
    assert summarize([]).n == 0


@pytest.fixture
def report(snapshot: Snapshot, make_assistant: MakeAssistant, embedder: FakeEmbedder) -> dict[str, object]:
    parts = Parts(
        make_embedder=lambda backend: embedder if backend == "torch" else FakeEmbedder(),
        make_generator=lambda: ScriptedGenerator(echo_sources(1)),
        make_assistant=lambda e, g: make_assistant(g),
        seeds_dir=SEEDS, pool_snapshots=[snapshot], queries=QUERIES, model_bytes=10**9,
    )
    plan = Plan(sizes=(40, 200), sample=6, queries=4, runs=2, backends=("torch", "fast", ), bandwidth_gb=0.01)
    return run(plan, parts, log=lambda _: None)


def test_bench_report_has_every_field(report: dict[str, object], tmp_path: Path) -> None:
    path = write(report, tmp_path / "bench")
    data = json.loads(path.read_text())
    assert (tmp_path / "bench" / "bench.md").read_text().startswith("# rag bench")
    assert {"models", "ingestion", "retrieval", "answer", "rss", "bandwidth", "targets", "notes", "plan"} <= set(data)
    assert data["models"]["embedder_load_s"] >= 0 and data["models"]["llm_load_s"] >= 0
    torch, fast = data["ingestion"]["backends"]
    assert torch["backend"] == "torch" and torch["ratio"] == 1.0 and fast["backend"] == "fast" and fast["ratio"] > 0
    assert torch["seeds"]["passages"] > 0 and torch["sample"]["passages"] >= 6
    assert [r["passages"] for r in data["retrieval"]] == [40, 200]
    for r in data["retrieval"]:
        assert r["index_kind"] == "flat" and r["recall_at_10"] == 1.0 and r["top_k_agreement"] == 1.0
        assert {"median", "p95", "n"} <= set(r["search"]) and r["search"]["n"] == 4
    assert data["answer"]["first_token_s"]["n"] == 2 and len(data["answer"]["answers"]) == 2
    assert data["reference"] is None  # the scripted generator has no llama.cpp model
    assert data["bandwidth"]["gb_per_s"] > 0
    rss = data["rss"]
    assert 0 < rss["after_models_bytes"] <= rss["app_peak_bytes"] <= rss["overall_peak_bytes"]
    names = [t["name"] for t in data["targets"]]
    assert names[0].startswith("first token") and any(n.startswith("recall@10") for n in names)
    by_name = {t["name"]: t for t in data["targets"]}
    assert by_name["generation / raw llama.cpp"]["ok"] is None
    assert "retrieve 200 passages" in render(report)
    assert data["answer"]["checked_s"]["n"] == 2 and "checked answer, warm (s)" in render(report)


def test_targets_pass_and_fail_by_the_issue_numbers() -> None:
    report = {"answer": {"first_token_s": {"median": 6.0}}, "reference": {"ratios": {"gen_vs_raw": 0.95}},
              "retrieval": [{"passages": 100_000, "search": {"p95": 0.040}, "recall_at_10": 0.94}],
              "ingestion": {"backends": [{"backend": "torch", "ratio": 1.0}, {"backend": "onnx", "ratio": 3.5}]},
              "rss": {"app_peak_bytes": 2.5e9}}
    got = {t.name: t.ok for t in targets(report)}
    assert got == {"first token, warm (s)": False, "generation / raw llama.cpp": True,
                   "retrieval p95 at 100000 passages (ms)": True, "recall@10 vs exact at 100000": False,
                   "ingestion / plain torch": True, "app peak RSS (GB)": True}


def test_backends_put_torch_first_and_unknown_backends_are_refused() -> None:
    settings = Settings()
    assert backends(settings, None)[0] == "torch"
    assert backends(settings, "onnx,torch") == ("torch", "onnx")
    if not hasattr(settings, "embed_backend"):
        with pytest.raises(InputError):
            with_backend(settings, "onnx")
    assert with_backend(settings, "torch") == dataclasses.replace(settings, embed_backend="torch")


def test_cli_parses_bench_flags() -> None:
    args = build_parser().parse_args(["bench", "--sizes", "2000", "--skip-llm", "--json", "--report", "x"])
    assert args.sizes == "2000" and args.skip_llm and args.json and args.report == Path("x")


def test_each_timed_answer_follows_another_question(make_assistant: MakeAssistant) -> None:
    """The timed question must not find its own state in the KV cache: another question comes between."""
    from rag.bench.measure import answer_runs

    gen = ScriptedGenerator(echo_sources(1))
    runs = answer_runs(make_assistant(gen), "Wie viel Prozent erhielt Lukaschenko?", runs=2,
                       interludes=("Wo trafen sich Putin und Lukaschenko?",))
    asked = [c["messages"][-1]["content"] for c in gen.calls]  # type: ignore[index]
    timed_q = ["Prozent" in q for q in asked[-4:]]
    assert timed_q == [False, True, False, True]
    assert runs.first_token.n == 2
    assert runs.checked is not None and runs.sourced is not None and runs.checked.n == 2
    assert runs.checked.median >= runs.total.median and runs.sourced.median >= runs.checked.median
    assert runs.to_json()["checked_s"] == runs.checked.to_json()


def test_raw_reference_is_taken_after_each_timed_answer_at_its_length(make_assistant: MakeAssistant) -> None:
    """Each timed answer is paired with a raw llama.cpp run of its own prompt and decode length."""
    from rag.bench.measure import MIN_RAW_TOKENS, answer_runs
    from rag.bench.reference import LlamaSpeed
    from rag.generate import GenerationStats

    gen = ScriptedGenerator(echo_sources(1), stats=GenerationStats(prompt_tokens=412, tokens=81, decode_s=4.0))
    asked: list[tuple[int, int, int]] = []
    speeds = iter([25.0, 20.0, 16.0])

    def raw(prompt_tokens: int, tokens: int) -> LlamaSpeed:
        asked.append((prompt_tokens, tokens, len(gen.calls)))
        return LlamaSpeed(prompt_tokens, 10.0, prompt_tokens / 10.0, tokens, 1.0, next(speeds))

    runs = answer_runs(make_assistant(gen), "Wie viel Prozent erhielt Lukaschenko?", runs=3,
                       interludes=("Wo trafen sich Putin und Lukaschenko?",), raw=raw)
    assert [a[:2] for a in asked] == [(412, 81)] * 3 and MIN_RAW_TOKENS < 81
    calls_at = [a[2] for a in asked]
    assert calls_at[1] - calls_at[0] == calls_at[2] - calls_at[1] > 0  # one interlude + one timed answer apart
    assert runs.gen_vs_raw == pytest.approx((20.0 / 25.0, 20.0 / 20.0, 20.0 / 16.0))
    assert len(runs.raw) == 3 and runs.to_json()["gen_vs_raw"] == pytest.approx([0.8, 1.0, 1.25])


def test_reference_reports_the_median_of_the_pairs(tmp_path: Path) -> None:
    from rag.bench.measure import AnswerRuns
    from rag.bench.reference import Bandwidth, LlamaSpeed
    from rag.bench.runner import _reference
    from rag.bench.stats import summarize

    raws = tuple(LlamaSpeed(400, 10.0, 40.0, 80, 80 / s, s) for s in (25.0, 20.0, 16.0))
    runs = AnswerRuns("q", 0.0, summarize([4.0]), summarize([20.0, 20.0, 20.0]), summarize([9.0]),
                      summarize([0.1]), ("a",), raws, (0.8, 1.0, 1.25))
    parts = type("P", (), {"model_bytes": 10**9})()
    ref = _reference(parts, runs, Bandwidth(2 * 10**10, 1.0, 20.0))  # type: ignore[arg-type]
    assert ref is not None and ref["ratios"]["gen_vs_raw"] == 1.0 and ref["llama"]["gen_tokens_per_s"] == 20.0
    assert ref["ratios"]["gen_vs_raw_pairs"] == [0.8, 1.0, 1.25] and ref["bound_tokens_per_s"] == 20.0
    no_raw = AnswerRuns("q", 0.0, summarize([4.0]), summarize([20.0]), summarize([9.0]), summarize([0.1]), ("a",))
    assert _reference(parts, no_raw, Bandwidth(1, 1.0, 1.0)) is None  # type: ignore[arg-type]
