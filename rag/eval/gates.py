"""Evaluation gates: a ratchet kept in one file (rag/data/gates.json).

Each gate records the figure and date that set it. CI fails when a figure
drops below its gate (or, for a ``"direction": "max"`` gate such as the answered-wrong
rate, rises above it); an improvement is locked in by moving the gate.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load() -> list[dict[str, Any]]:
    """Every gate: one set for every machine, since the int8 embedder export is the same on all CPUs."""
    data = json.loads(resources.files("rag.data").joinpath("gates.json").read_text())
    return list(data["gates"])


def lookup(totals: dict[str, Any], metric: str) -> float | None:
    value: Any = totals
    for part in metric.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


ANSWER_METRICS = frozenset({"answer_correctness", "completeness", "refusal_accuracy", "citation_precision",
                            "citation_recall", "answered_wrong", "coverage", "risk", "unanswerable_refused",
                            "untranslated", "checked_s.p50", "checked_s.p95"})


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
        upper = g.get("direction") == "max"
        ok = value is not None and (value <= g["gate"] if upper else value >= g["gate"])
        results.append({**g, "value": value, "ok": ok})
    return results
