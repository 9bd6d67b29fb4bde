"""Evaluation gates: a ratchet kept in one file (rag/data/gates.json).

Each gate records the figure and date that set it. CI fails when a figure
drops below its gate; an improvement is locked in by raising the gate.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any


def cpu_class(cpuinfo: str | None = None) -> str:
    """"vnni" when the CPU has VNNI (int8 dot products without saturation), else "no-vnni".

    The int8 embedder differs between the two (see ``embeddings.onnx_export``), and the
    1.5B model's answers shift with it, so seeds answer gates are kept per class.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    flags = set(cpuinfo.split())
    return "vnni" if {"avx512_vnni", "avx_vnni"} & flags else "no-vnni"


def load(cpu: str | None = None) -> list[dict[str, Any]]:
    """The gates for this machine: those without a ``cpu`` field, and those of its CPU class."""
    data = json.loads(resources.files("rag.data").joinpath("gates.json").read_text())
    cpu = cpu or cpu_class()
    return [g for g in data["gates"] if g.get("cpu", cpu) == cpu]


def lookup(totals: dict[str, Any], metric: str) -> float | None:
    value: Any = totals
    for part in metric.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


ANSWER_METRICS = frozenset({"answer_correctness", "completeness", "refusal_accuracy", "citation_precision",
                            "citation_recall"})


def check(report: dict[str, Any], gates: list[dict[str, Any]] | None = None,
          answers_measured: bool = True) -> list[dict[str, Any]]:
    """One result per gate whose dataset is in the report (a gate on a missing figure fails).

    A ``--retrieval-only`` run generates no answers, so its answer gates are left out
    rather than failed.
    """
    results = []
    for g in gates if gates is not None else load():
        section = report["datasets"].get(g["dataset"])
        if section is None or (not answers_measured and g["metric"] in ANSWER_METRICS):
            continue
        value = lookup(section["totals"], g["metric"])
        results.append({**g, "value": value, "ok": value is not None and value >= g["gate"]})
    return results
