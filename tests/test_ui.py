"""The chat app on fakes: the service, the rendering, the `ask` API and concurrent questions."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from browser import free_port
from conftest import SEED_IDS
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources

from rag.factory import build_assistant
from rag.settings import Settings
from rag.store import Store
from rag.types import Citation, Document
from ui import render
from ui.service import ChatService

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture
def service(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> ChatService:
    s = settings.with_overrides(refuse_below=0.0)
    return ChatService(s, embedder, ScriptedGenerator(echo_sources(1, 2)),
                       lambda st, e, g: build_assistant(st, embedder=e, generator=g))


def test_link_citations() -> None:
    assert render.link_citations("He got 80.1 percent [1][3].", 2) == \
        "He got 80.1 percent [[1]](#cite-2-1)[[3]](#cite-2-3)."


def test_citation_card_marks_the_quote_inside_the_article() -> None:
    text = "date 2020-09 MINSK (dpa) - Erster Satz. Der Staatschef erhielt 80,1 Prozent. Letzter Satz."
    doc = Document("001_x", "", text, "Titel", "2020-09", "dpa", body_start=27)
    quote = "Der Staatschef erhielt 80,1 Prozent."
    passage = "Erster Satz. " + quote
    c = Citation(3, "001_x", "Titel", "2020-09", "dpa", passage, quote, passage_id=0,
                 quote_start=text.index(quote), quote_end=text.index(quote) + len(quote))
    card = render.citation_card(c, doc, 5)
    assert "id='cite-5-3'" in card
    assert f"<mark>{quote}</mark>" in card
    assert "<span class='passage'>Erster Satz. <mark>" in card
    assert "Letzter Satz." in card and "date 2020-09" not in card


def test_service_ask_json_and_documents(service: ChatService) -> None:
    data = service.ask_json("What share of the vote did Lukashenko get?")
    assert set(data) >= {"question", "answer", "refused", "citations", "timings"}
    assert sorted(d.doc_id for d in service.documents()) == SEED_IDS


def test_service_adds_and_deletes_articles(service: ChatService, tmp_path: Path) -> None:
    new = tmp_path / "upload" / "999_new.md"
    new.parent.mkdir()
    new.write_text("date 2021-03\n\n# Neue Gespräche\n\nMINSK (dpa) - Lukaschenko traf am Montag Putin in Moskau.\n")
    broken = tmp_path / "upload" / "998_broken.txt"
    broken.write_bytes(b"\x00\x01binary")
    service.ask_json("Wo traf Lukaschenko am Montag Putin?")  # the models are loaded before the index changes
    report = service.add_files([new, broken])
    assert report.added == ["999_new"] and [Path(p).name for p, _ in report.failed] == ["998_broken.txt"]
    assert "999_new" in {d.doc_id for d in service.documents()}
    assert (service.library / "999_new.md").is_file()
    answer = service.ask_json("Wo traf Lukaschenko am Montag Putin?")
    assert not answer["refused"] and answer["citations"][0]["doc_id"] == "999_new", "answered from the new index"
    assert "999_new" in service.documents_by_id()
    service.delete("999_new")
    assert "999_new" not in {d.doc_id for d in service.documents()}
    assert sorted(d.doc_id for d in service.documents()) == SEED_IDS


def test_service_translation_uses_the_local_model(service: ChatService) -> None:
    gen = ScriptedGenerator("He got 80.1 percent.")
    service.generator = gen
    assert service.translate("Er erhielt 80,1 Prozent.", "en") == "He got 80.1 percent."
    assert "English" in gen.messages[0]["content"]


def test_api_ask_and_three_concurrent_questions(service: ChatService) -> None:
    pytest.importorskip("gradio")
    from gradio_client import Client

    from ui.app import launch

    port = free_port()
    demo = launch(service.settings, port=port, service=service, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        one = client.predict("What share of the vote did Lukashenko get?", api_name="/ask")
        assert one["question"] == "What share of the vote did Lukashenko get?"
        assert {"answer", "refused", "citations", "timings"} <= set(one)
        results: dict[int, dict] = {}

        def ask(i: int) -> None:
            results[i] = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                f"Question {i}: where did Putin and Lukashenko meet?", api_name="/ask")

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(results) == [0, 1, 2]
        assert all(r["question"].startswith(f"Question {i}") for i, r in results.items())
    finally:
        demo.close()


def test_missing_model_is_a_message_not_a_crash(ingested: Store, settings: Settings) -> None:
    from rag.errors import ModelMissingError

    service = ChatService(settings, None, None, lambda st, e, g: build_assistant(st, embedder=e, generator=g),
                          error="LLM not found at /x: run `rag models fetch`")
    with pytest.raises(ModelMissingError, match="rag models fetch"):
        list(service.stream("What did Putin promise Lukashenko?"))
    assert service.models()["error"].endswith("`rag models fetch`")
    assert sorted(d.doc_id for d in service.documents()) == SEED_IDS


def test_a_refusal_links_its_closest_passages_and_a_bare_one_says_nothing_answers() -> None:
    from rag.types import Answer

    closest = Answer("q", "The articles don't say. The passages closest to the question, which do not state the "
                          "answer: [1], [2].", True)
    shown = render.answer_markdown(closest, 3)
    assert shown.startswith("⚠️ **The articles don't say.**")
    assert "[[1]](#cite-3-1), [[2]](#cite-3-2)" in shown and "No passage" not in shown
    bare = render.answer_markdown(Answer("q", "Die Artikel sagen dazu nichts.", True), 1)
    assert "**Die Artikel sagen dazu nichts.**" in bare and "No passage in the articles answers this." in bare
