"""Fixtures for the fast tier: temporary settings, a seeds copy, an index built with fakes."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import FakeEmbedder, ScriptedGenerator

import rag.factory
from rag.cpu_features import cpu_flags
from rag.factory import build_assistant
from rag.ingest import Ingestor
from rag.pipeline import Assistant
from rag.settings import Settings
from rag.store import Snapshot, Store

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_IDS = sorted(p.stem for p in SEEDS.glob("*.txt"))
STORED_ATOL = 1e-3
"""How far a stored vector may be from the embedder's: the index keeps float16, whose rounding
moves a unit vector's components by at most 2.5e-4."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: kills, races and corrupts ingests in real processes (seconds)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the CPU below the failures: CI shows a run's tail, and two CPUs' kernels once built two embedders."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = cpu_flags(info)
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
    terminalreporter.write_line(f"cpu: {model}, {os.cpu_count()} cores, {' '.join(wanted) or 'no AVX2'}")


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
              tmp_path_factory: pytest.TempPathFactory) -> None:
    """No user configuration leaks in, nothing is written to the real cache, no real model can load.

    Tests of the other tier (marked ``real``) are left alone: they need the environment and the models.
    """
    if request.node.get_closest_marker("real"):
        return
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # A None entry makes any import of these fail at once instead of loading weights.
    for module in ("llama_cpp", "sentence_transformers", "torch", "transformers", "onnxruntime"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``RAG_HOME`` for CLI tests: a fresh folder."""
    path = tmp_path / "rag-home"
    path.mkdir()
    monkeypatch.setenv("RAG_HOME", str(path))
    return path


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """The CLI's embedder, replaced by the fake."""
    emb = FakeEmbedder()
    monkeypatch.setattr(rag.factory, "build_embedder", lambda settings: emb)
    return emb


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    dest = tmp_path / "seeds"
    dest.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy2(f, dest / f.name)
    return dest


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", index_dir=tmp_path / "index", threads=1)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings.index_path)


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds ingested once per session with the fake embedder (read-only: copy before changing)."""
    root = tmp_path_factory.mktemp("seeds-index")
    seeds = root / "seeds"
    shutil.copytree(SEEDS, seeds)
    report = Ingestor(Store(root / "index"), FakeEmbedder(), Settings().chunk_chars).ingest([seeds])
    assert sorted(report.added) == SEED_IDS and not report.failed
    return root / "index"


@pytest.fixture(scope="session")
def snapshot(seeds_index: Path) -> Snapshot:
    """The seeds snapshot, shared by the tests that only read it."""
    return Store(seeds_index).load()


@pytest.fixture
def ingested(seeds_index: Path, settings: Settings) -> Store:
    """A private copy of the seeds index at ``settings.index_path``."""
    shutil.copytree(seeds_index, settings.index_path)
    return Store(settings.index_path)


MakeAssistant = Callable[..., Assistant]


@pytest.fixture
def make_assistant(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> MakeAssistant:
    """``make_assistant(generator, **settings_overrides)``: an Assistant over the seeds index, all fakes.

    Retrieval never refuses unless asked (``refuse_below=0``), because hashed vectors are
    far less similar than real embeddings.
    """

    def make(generator: ScriptedGenerator | None = None, **overrides: object) -> Assistant:
        s = settings.with_overrides(**{"refuse_below": 0.0, **overrides})
        return build_assistant(s, embedder=embedder, generator=generator or ScriptedGenerator())

    return make
