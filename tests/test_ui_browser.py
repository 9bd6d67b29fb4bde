"""A real browser: ask in the page, click a citation, see the German passage highlighted.

The fast test drives the app on fakes; the `real` one asks the headline
question of the real models. Screenshots go to $RAG_TEST_OUTPUT (test-output/).
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest
from browser import CHROMIUM, ask_and_open_citation
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources

from rag.factory import build_assistant
from rag.settings import Settings
from rag.store import Store
from ui.service import ChatService

OUT = Path(os.environ.get("RAG_TEST_OUTPUT", "test-output"))
needs_browser = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                   reason="needs /usr/bin/chromium (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check(result: dict[str, str], quote_words: str) -> None:
    assert result["card_id"].startswith("cite-1-")
    assert result["mark_visible"], "the supporting sentence is not highlighted"
    assert result["mark_text"] and result["mark_text"] in result["card_text"]
    assert re.search(quote_words, result["card_text"]), result["card_text"][:300]


@needs_browser
def test_browser_on_fakes(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> None:
    pytest.importorskip("playwright")
    from ui.app import launch

    s = settings.with_overrides(refuse_below=0.0)
    service = ChatService(s, embedder, ScriptedGenerator(echo_sources(1, 2)),
                          lambda st, e, g: build_assistant(st, embedder=e, generator=g))
    port = _free_port()
    demo = launch(s, port=port, service=service, block=False)
    try:
        result = ask_and_open_citation(f"http://127.0.0.1:{port}/", "What did Putin promise Lukashenko?", OUT,
                                       "fake-headline", timeout_s=60)
    finally:
        demo.close()
    _check(result, r"Lukaschenko")


@pytest.mark.real
@needs_browser
def test_browser_headline_question_on_real_models() -> None:
    pytest.importorskip("playwright")
    from rag.errors import RagError
    from ui.app import launch
    from ui.service import real_service

    settings = Settings.from_env()
    try:
        service = real_service(settings)
        service.assistant()
    except RagError as exc:
        pytest.skip(f"real models or index missing: {exc}")
    port = _free_port()
    demo = launch(settings, port=port, service=service, block=False)
    try:
        result = ask_and_open_citation(f"http://127.0.0.1:{port}/", "What did Putin promise Lukashenko?", OUT,
                                       "real-headline", timeout_s=300)
    finally:
        demo.close()
    assert re.search(r"military|militar", result["answer"], re.I), result["answer"]
    _check(result, r"Putin|Lukaschenko")
    assert re.search(r"[äöüß]|\b(der|die|das|und)\b", result["card_text"]), "the panel should show the German original"
