"""The two bench scripts of issue 21 run end to end on fakes and write what they print.

They measure (peak RSS, latencies); nothing here checks a figure, only that the figures exist
and that the inputs are what the bench says they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.bench import ingest_memory, users


def test_generated_inputs_have_their_shape_and_are_deterministic(tmp_path: Path) -> None:
    files = ingest_memory.make_inputs(tmp_path / "a", 0.05, ["paragraphs", "oneline", "nobreaks"])
    again = ingest_memory.make_inputs(tmp_path / "b", 0.05, ["oneline"])
    texts = {k: p.read_text(encoding="utf-8") for k, p in files.items()}
    assert again["oneline"].read_bytes() == files["oneline"].read_bytes()
    assert all(48_000 < len(t.encode()) < 60_000 for t in texts.values())
    assert "\n\n" in texts["paragraphs"] and "\n" not in texts["oneline"] + texts["nobreaks"]
    assert texts["oneline"].count(". ") > 200 and not re.search(r"[.!?]", texts["nobreaks"])
    sentences = re.split(r"(?<=\.) ", texts["oneline"])
    assert len(set(sentences)) == len(sentences), "no sentence repeats, so nothing is deduplicated"


def test_ingest_memory_bench_measures_every_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ingest_memory.main(["--mb", "0.05", "--kinds", "oneline", "--dimension", "64",
                               "--report", str(tmp_path / "report")]) == 0
    report = json.loads((tmp_path / "report" / "ingest-memory.json").read_text())
    cases = [r["case"] for r in report["runs"]]
    assert cases == ["oneline"] and report["models"] == "fake"
    run = report["runs"][0]
    assert run["peak_rss_bytes"] > 10_000_000 and run["passages"] > 50 and run["sentences"] > run["passages"]
    assert run["vector_bytes"] == (run["passages"] + run["sentences"]) * 64 * 4
    stages = run["stages"]
    assert {"reading", "chunking", "embedding", "writing"} <= set(stages)
    assert all(stages[s]["progress_calls"] >= 2 for s in ("reading", "chunking", "embedding"))
    out = capsys.readouterr().out
    assert "oneline" in out and "peak RSS MB" in out


def test_users_bench_answers_every_user(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gradio")
    assert users.main(["--users", "3", "--token-s", "0.001", "--report", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "users.json").read_text())
    assert [u["user"] for u in report["users"]] == [0, 1, 2]
    assert all(u["outcome"] in ("answered", "refused") and u["latency_s"] > 0 for u in report["users"]), report
    assert report["summary"]["errors"] == 0 and report["models"] == "fake"
    assert "3 concurrent /ask users" in capsys.readouterr().out
