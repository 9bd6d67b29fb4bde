"""The bench report: targets from the issue as pass/fail columns, the table, bench.json and bench.md.

Targets are informational: a missed one is printed as ``no``, never turned
into a failing exit code, because timings on shared CI machines are noise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GB = 1e9


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    goal: str
    ok: bool | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "goal": self.goal, "ok": self.ok}


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or data.get(key) is None:
            return None
        data = data[key]
    return data


def targets(report: dict[str, Any]) -> list[Target]:
    out = []
    first = _get(report, "answer", "first_token_s", "median")
    out.append(Target("first token, warm (s)", first, "<= 5", None if first is None else first <= 5.0))
    ratio = _get(report, "reference", "ratios", "gen_vs_raw")
    out.append(Target("generation / raw llama.cpp", ratio, ">= 0.90", None if ratio is None else ratio >= 0.9))
    sizes = report.get("retrieval") or []
    if sizes:
        big = max(sizes, key=lambda r: r["passages"])
        p95_ms, recall = big["search"]["p95"] * 1000, big["recall_at_10"]
        out.append(Target(f"retrieval p95 at {big['passages']} passages (ms)", p95_ms, "<= 50", p95_ms <= 50))
        out.append(Target(f"recall@10 vs exact at {big['passages']}", recall, ">= 0.95", recall >= 0.95))
    fast = [b for b in _get(report, "ingestion", "backends") or [] if b.get("backend") != "torch" and "ratio" in b]
    best = max((b["ratio"] for b in fast), default=None)
    out.append(Target("ingestion / plain torch", best, ">= 3", None if best is None else best >= 3.0))
    rss = _get(report, "rss", "app_peak_bytes")
    out.append(Target("app peak RSS (GB)", None if rss is None else rss / GB, "< 3",
                      None if rss is None else rss < 3 * GB))
    if report.get("archive"):
        from rag.bench import archive

        out += [t for r in report["archive"] for t in archive.targets(r)]
    return out


def _f(x: float | None, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if x is None else f"{x * scale:.{digits}f}"


def rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, median, p95, reference or ratio) lines of the table."""
    out: list[tuple[str, str, str, str]] = []
    models = report.get("models") or {}
    out.append(("embedder load (s)", _f(models.get("embedder_load_s")), "", ""))
    out.append(("LLM load (s)", _f(models.get("llm_load_s")), "", ""))
    for b in _get(report, "ingestion", "backends") or []:
        if "error" in b:
            out.append((f"ingest [{b['backend']}]", "error", "", b["error"][:60]))
            continue
        seeds, sample = b["seeds"], b["sample"]
        out.append((f"ingest seeds [{b['backend']}] (passages/s)", _f(seeds["passages_per_s"]), "",
                    f"{seeds['passages']} passages + {seeds['sentences']} sentences in {seeds['seconds']:.1f}s"))
        out.append((f"ingest synthetic sample [{b['backend']}] (passages/s)", _f(sample["passages_per_s"]), "",
                    f"{sample['passages']} passages; x{b.get('ratio', 1.0):.2f} vs torch"))
    q = report.get("query_embedding_s")
    if q:
        out.append(("query embedding (ms)", _f(q["median"], 1000, 1), _f(q["p95"], 1000, 1), ""))
    for r in report.get("retrieval") or []:
        n = r["passages"]
        kind = r["index_kind"] + (f" ef={r['ef_search']}" if r["ef_search"] else "")
        out.append((f"retrieve {n} passages, full search (ms)", _f(r["search"]["median"], 1000, 1),
                    _f(r["search"]["p95"], 1000, 1),
                    f"{kind}; recall@10 {r['recall_at_10']:.3f}; top-8 agreement {r['top_k_agreement']:.3f}"))
        out.append((f"  dense FAISS only at {n} (ms)", _f(r["dense"]["median"], 1000, 2),
                    _f(r["dense"]["p95"], 1000, 2), f"index build {r['index_build_s']:.1f}s"))
        for e in r.get("ef_sweep") or []:
            out.append((f"  HNSW efSearch={e['ef_search']} at {n}", "", _f(e["dense_p95_s"], 1000, 2),
                        f"recall@10 {e['recall_at_10']:.3f}"))
        out.append((f"  BM25 only at {n} (ms)", _f(r["lexical"]["median"], 1000, 2),
                    _f(r["lexical"]["p95"], 1000, 2), f"retriever build {r['retriever_build_s']:.1f}s"))
    ans, ref = report.get("answer"), report.get("reference")
    if ans:
        raw_pp, raw_n = _get(ref or {}, "llama", "prompt_s"), _get(ref or {}, "llama", "prompt_tokens")
        out.append(("first token, warm (s)", _f(ans["first_token_s"]["median"]), _f(ans["first_token_s"]["p95"]),
                    "" if raw_pp is None else f"raw {raw_n}-token prompt {raw_pp:.2f}s "
                    f"(x{ans['first_token_s']['median'] / raw_pp:.2f})"))
        ratios = (ref or {}).get("ratios") or {}
        out.append(("generation (tokens/s)", _f(ans["tokens_per_s"]["median"], digits=1),
                    _f(ans["tokens_per_s"]["p95"], digits=1),
                    f"{_f(ratios.get('gen_vs_raw'))} of raw (median of {len(ratios.get('gen_vs_raw_pairs') or [])} "
                    f"pairs: {_pairs(ratios)}), {_f(ratios.get('gen_vs_bound'))} of bandwidth bound"))
        out.append(("answer total (s)", _f(ans["total_s"]["median"]), _f(ans["total_s"]["p95"]),
                    f"retrieve {ans['retrieve_s']['median'] * 1000:.0f} ms"))
        checked, sourced = ans.get("checked_s"), ans.get("sourced_s")
        if checked:
            out.append(("checked answer, warm (s)", _f(checked["median"]), _f(checked["p95"]),
                        f"other articles' quotes in at {_f(sourced['median'])} s" if sourced else ""))
    bw = report.get("bandwidth")
    if bw and not ref:
        out.append(("copy bandwidth (GB/s)", _f(bw["gb_per_s"], digits=1), "", "read + write bytes"))
    if ref:
        ll = ref["llama"]
        out.append(("raw llama.cpp prompt (tokens/s)", _f(ll["prompt_tokens_per_s"], digits=1), "",
                    f"{ll['prompt_tokens']} tokens"))
        out.append(("raw llama.cpp generation (tokens/s)", _f(ll["gen_tokens_per_s"], digits=1), "",
                    f"median of {ref.get('llama_runs', 1)} runs, {ll['gen_tokens']} tokens after "
                    "the prompt"))
        out.append(("copy bandwidth (GB/s)", _f(ref["bandwidth"]["gb_per_s"], digits=1), "",
                    f"bound {ref['bound_tokens_per_s']:.1f} tokens/s at {ref['model_bytes'] / GB:.2f} GB/token"))
    if report.get("archive"):
        from rag.bench import archive

        out += [line for r in report["archive"] for line in archive.rows(r)]
    rss = report.get("rss") or {}
    for key, label in (("after_models_bytes", "RSS after loading models (GB)"),
                       ("app_peak_bytes", "app peak RSS (GB)"), ("overall_peak_bytes", "bench peak RSS (GB)")):
        if rss.get(key) is not None:
            out.append((label, _f(rss[key] / GB), "", ""))
    return out


def _pairs(ratios: dict[str, Any]) -> str:
    return " ".join(f"{r:.2f}" for r in ratios.get("gen_vs_raw_pairs") or [])


def table(header: tuple[str, ...], lines: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), "-+-".join("-" * w for w in widths), *(fmt.format(*r) for r in lines)])


def render(report: dict[str, Any]) -> str:
    measures = table(("measure", "median", "p95", "reference / ratio"), rows(report))
    goals = [(t.name, _f(t.value, digits=3), t.goal, {True: "yes", False: "no", None: "n/a"}[t.ok])
             for t in targets(report)]
    return measures + "\n\n" + table(("target", "value", "goal", "pass"), goals)


def markdown(report: dict[str, Any]) -> str:
    def md(header: tuple[str, ...], lines: Sequence[tuple[str, ...]]) -> str:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in lines])

    goals = [(t.name, _f(t.value, digits=3), t.goal, {True: "yes", False: "no", None: "n/a"}[t.ok])
             for t in targets(report)]
    notes = "\n".join(f"- {n}" for n in report.get("notes") or [])
    return (f"# rag bench\n\n{report.get('machine')}\n\n"
            + md(("measure", "median", "p95", "reference / ratio"), rows(report))
            + "\n\n## Targets (informational)\n\n" + md(("target", "value", "goal", "pass"), goals)
            + f"\n\n## How it was measured\n\n{notes}\n")


def write(report: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(report, targets=[t.to_json() for t in targets(report)])
    (folder / "bench.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    (folder / "bench.md").write_text(markdown(report))
    return folder / "bench.json"
