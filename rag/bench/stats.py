"""Median and p95 of repeated timings: the two figures every bench line shows."""

from __future__ import annotations

import resource
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    median: float
    p95: float
    n: int

    def to_json(self) -> dict[str, float | int]:
        return {"median": self.median, "p95": self.p95, "n": self.n}


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(float("nan"), float("nan"), 0)
    arr = np.asarray(values, dtype=np.float64)
    return Summary(float(np.median(arr)), float(np.percentile(arr, 95)), len(arr))


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
