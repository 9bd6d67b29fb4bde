"""Generation through an OpenAI-compatible server (``RAG_LLM_URL``), against a tiny real HTTP server.

The server below speaks the chat-completions API over plain ``http.server`` (streamed as
server-sent events, as llama.cpp's, vLLM and Ollama stream), with the scripted fake model
behind it; it records every request it gets.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from browser import free_port
from fakes import FakeEmbedder, ScriptedGenerator, sources_in

import rag.factory
from rag.cli import main
from rag.errors import InputError, ModelError
from rag.factory import build_assistant, build_generator
from rag.focused import READ_SYSTEM
from rag.generate import SHARED, LlamaGenerator
from rag.remote import RemoteGenerator, endpoints, parse_extra, sse_data
from rag.rewrite import REWRITE_SYSTEM
from rag.settings import Settings
from rag.store import Store
from rag.types import Turn
from ui.service import ChatService

QUESTION = "What did Putin promise Lukashenko?"


def helping(messages: list[dict[str, str]]) -> str:
    found = [s for p in sources_in(messages).values() for s in p.split(". ") if "Hilfe" in s]
    return (found[0].rstrip(".") + ".") if found else "NOT IN SOURCES"


def yes(claim: str, source: str) -> bool:
    return True


@dataclass
class FakeServer:
    """What the server does and what it was asked."""

    model: ScriptedGenerator
    key: str = ""
    models: list[str] = field(default_factory=lambda: ["fake-llm"])
    fail: tuple[int, dict[str, Any]] | None = None
    error_event: bool = False
    usage: bool = True
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorized(self) -> bool:
                if server.key and self.headers.get("Authorization") != f"Bearer {server.key}":
                    self._json(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if not self._authorized():
                    return
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]})
                else:
                    self._json(404, {"error": {"message": "no such path"}})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if not self._authorized():
                    return
                if self.path != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "no such path"}})
                    return
                if server.fail is not None:
                    self._json(*server.fail)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()  # no length: the stream ends when the connection closes
                self.close_connection = True
                pieces = list(server.model.stream(body["messages"], body.get("max_tokens", 0), body["temperature"]))
                self._event(": ping")
                for i, piece in enumerate(pieces):
                    self._event("data: " + json.dumps({"object": "chat.completion.chunk", "choices": [
                        {"index": 0, "delta": {"content": piece} if i else {"role": "assistant", "content": piece},
                         "finish_reason": None}]}))
                    if server.error_event and i == 0:
                        self._event("data: " + json.dumps({"error": {"message": "out of memory"}}))
                        return
                self._event("data: " + json.dumps({"object": "chat.completion.chunk", "choices": [
                    {"index": 0, "delta": {}, "finish_reason": "stop"}]}))
                if server.usage and (body.get("stream_options") or {}).get("include_usage"):
                    self._event("data: " + json.dumps({"choices": [], "usage": {
                        "prompt_tokens": 321, "completion_tokens": len(pieces), "total_tokens": 321 + len(pieces)}}))
                self._event("data: [DONE]")

            def _event(self, text: str) -> None:
                self.wfile.write((text + "\n\n").encode())
                self.wfile.flush()

        return Handler

    def system_prompts(self) -> list[str]:
        return [r["messages"][0]["content"] for r in self.requests]


@pytest.fixture
def serve_fake() -> Iterator[Callable[..., FakeServer]]:
    started: list[ThreadingHTTPServer] = []

    def start(model: ScriptedGenerator | None = None, **kw: Any) -> FakeServer:
        fake = FakeServer(model or ScriptedGenerator(helping, judge=yes), **kw)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        return fake

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


# --- the generator --------------------------------------------------------------------------------------------------


def test_a_stream_comes_back_in_pieces_with_its_counts(serve_fake: Callable[..., FakeServer]) -> None:
    fake = serve_fake(ScriptedGenerator("Putin promised military help [1].", piece_chars=4), key="k1")
    gen = RemoteGenerator(fake.url, key="k1", extra={"repeat_penalty": 1.0})
    pieces = list(gen.stream([{"role": "user", "content": "hi", SHARED: "h"}], max_tokens=50, temperature=0.0))
    assert "".join(pieces) == "Putin promised military help [1]." and len(pieces) > 1
    sent = fake.requests[-1]
    assert sent["model"] == "fake-llm", "no RAG_LLM_MODEL: the first model the server lists"
    assert sent["messages"] == [{"role": "user", "content": "hi"}] and sent["stream"] is True, "only standard keys"
    assert (sent["max_tokens"], sent["temperature"], sent["seed"], sent["repeat_penalty"]) == (50, 0.0, 0, 1.0)
    assert fake.headers[-1]["Authorization"] == "Bearer k1"
    assert gen.last_stats is not None and (gen.last_stats.prompt_tokens, gen.last_stats.tokens) == (321, len(pieces))
    fake.usage = False
    list(gen.stream([{"role": "user", "content": "hi"}], max_tokens=0))
    assert gen.last_stats is None and "max_tokens" not in fake.requests[-1]


def test_the_model_name_is_sent_as_set(serve_fake: Callable[..., FakeServer]) -> None:
    fake = serve_fake(ScriptedGenerator("ok"))
    gen = RemoteGenerator(fake.url, model="qwen2.5-1.5b")
    assert "".join(gen.stream([{"role": "user", "content": "hi"}])) == "ok"
    assert fake.requests[-1]["model"] == "qwen2.5-1.5b" and "qwen2.5-1.5b" in gen.model_id


def test_failures_are_one_line_model_errors(serve_fake: Callable[..., FakeServer]) -> None:
    messages = [{"role": "user", "content": "hi"}]
    nobody = RemoteGenerator(f"http://127.0.0.1:{free_port()}/v1", model="m")
    with pytest.raises(ModelError, match="cannot reach the LLM server at http://127.0.0.1:.*RAG_LLM_URL"):
        list(nobody.stream(messages))
    fake = serve_fake(fail=(500, {"error": {"message": "context\nlength exceeded", "type": "server_error"}}))
    with pytest.raises(ModelError, match="answered HTTP 500: context length exceeded") as exc:
        list(RemoteGenerator(fake.url, model="m").stream(messages))
    assert "\n" not in str(exc.value)
    with pytest.raises(ModelError, match="RAG_LLM_KEY"):
        list(RemoteGenerator(serve_fake(key="right").url, key="wrong", model="m").stream(messages))
    with pytest.raises(ModelError, match="RAG_LLM_KEY"):
        RemoteGenerator(serve_fake(key="right").url).model()
    with pytest.raises(ModelError, match="lists no model"):
        RemoteGenerator(serve_fake(models=[]).url).model()
    broken = serve_fake(ScriptedGenerator("a b c d e f", piece_chars=1), error_event=True)
    got: list[str] = []
    with pytest.raises(ModelError, match="failed: out of memory"):
        got.extend(RemoteGenerator(broken.url, model="m").stream(messages))
    assert got == ["a"]


def test_urls_and_extra_settings() -> None:
    v1 = ("http://h:8080/v1", "http://h:8080/v1/chat/completions")
    assert endpoints("http://h:8080/v1") == v1 and endpoints("http://h:8080/v1/") == v1
    assert endpoints("http://h:8080") == v1 and endpoints("http://h:8080/v1/chat/completions") == v1
    assert endpoints("https://lb.example/ollama/v1")[1] == "https://lb.example/ollama/v1/chat/completions"
    for bad in ("", "h:8080", "ftp://h/v1", "http:///v1"):
        with pytest.raises(InputError, match="RAG_LLM_URL"):
            endpoints(bad)
    assert parse_extra("") == {} and parse_extra('{"top_k": 1}') == {"top_k": 1}
    for bad in ("[1]", "{not json", "3"):
        with pytest.raises(InputError, match="RAG_LLM_EXTRA"):
            parse_extra(bad)


def test_server_sent_events_are_read_as_the_standard_says() -> None:
    lines = [": comment", "data: one", "", "event: x", "data:two", "data: lines", "", "id: 3", "", "data: [DONE]"]
    assert list(sse_data(lines)) == ["one", "two\nlines", "[DONE]"]


# --- the factory and the pipeline ---------------------------------------------------------------------------------


def test_the_factory_chooses_the_server_only_when_a_url_is_set(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    s = Settings.from_env({"RAG_LLM_URL": "http://127.0.0.1:9/v1", "RAG_LLM_MODEL": "m", "RAG_LLM_KEY": "secret",
                           "RAG_LLM_EXTRA": '{"repeat_penalty": 1.0}', "RAG_HOME": str(tmp_path)})
    gen = build_generator(s)
    assert isinstance(gen, RemoteGenerator)
    assert (gen.endpoint, gen.key, gen.extra) == ("http://127.0.0.1:9/v1/chat/completions", "secret",
                                                  {"repeat_penalty": 1.0})
    assert "secret" not in repr(s)
    monkeypatch.setattr(rag.factory, "resolve_llm", lambda settings: tmp_path / "model.gguf")
    local = build_generator(Settings(home=tmp_path))
    assert isinstance(local, LlamaGenerator), "the local model stays the default"
    assert local.mmap is False
    mapped = build_generator(Settings.from_env({"RAG_HOME": str(tmp_path), "RAG_LLM_MMAP": "1"}))
    assert isinstance(mapped, LlamaGenerator) and mapped.mmap is True


def test_every_generation_of_an_answer_reaches_the_server(serve_fake: Callable[..., FakeServer], ingested: Store,
                                                          settings: Settings, embedder: FakeEmbedder) -> None:
    """Draft, focused read and rewrite through the server give what the same fake gives in-process."""
    fake = serve_fake(ScriptedGenerator(helping, judge=yes, rewrite=lambda q, prev, ans: "Where did Putin help?"))
    s = settings.with_overrides(refuse_below=0.0, llm_url=fake.url)
    remote = build_assistant(s, embedder=embedder, generator=build_generator(s))
    local = build_assistant(s, embedder=embedder, generator=ScriptedGenerator(
        helping, judge=yes, rewrite=lambda q, prev, ans: "Where did Putin help?"))
    first = remote.ask(QUESTION)
    assert not first.refused and first.citations
    assert (first.answer, first.citations) == (local.ask(QUESTION).answer, local.ask(QUESTION).citations)
    follow = remote.ask("Where did he do that?", [Turn(QUESTION, first.answer)])
    assert follow.standalone_question == "Where did Putin help?"
    prompts = fake.system_prompts()
    assert READ_SYSTEM in prompts, "the focused read"
    assert REWRITE_SYSTEM in prompts, "the follow-up rewrite"
    assert any(p.startswith("Use the following pieces of context") for p in prompts), "the draft"
    assert fake.model.read_calls and fake.model.rewrite_calls == [
        ("Where did he do that?", QUESTION, re.sub(r"\s*\[\d+\]", "", first.answer))]
    assert first.timings.prompt_tokens == 321, "the server's usage becomes the answer's token counts"


def test_the_apps_translation_reaches_the_server(serve_fake: Callable[..., FakeServer], ingested: Store,
                                                 settings: Settings, embedder: FakeEmbedder) -> None:
    fake = serve_fake(ScriptedGenerator("He got 80.1 percent."))
    s = settings.with_overrides(llm_url=fake.url)
    service = ChatService(s, embedder, build_generator(s),
                          lambda st, e, g: build_assistant(st, embedder=e, generator=g))
    assert service.translate("Er erhielt 80,1 Prozent.", "en") == "He got 80.1 percent."
    assert fake.requests[-1]["messages"][0]["content"].startswith("Translate the user's text into English")


def test_rag_ask_with_llm_url(serve_fake: Callable[..., FakeServer], home: Path, seeds_index: Path,
                              fake_embedder: FakeEmbedder, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(seeds_index, home / "index")
    fake = serve_fake()
    monkeypatch.setenv("RAG_REFUSE_BELOW", "0")
    monkeypatch.setenv("RAG_LLM_PATH", str(home / "no-such.gguf"))
    assert main(["ask", QUESTION, "--json", "--llm-url", fake.url]) == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    assert not data["refused"] and data["citations"] and fake.requests
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    assert main(["ask", QUESTION, "--llm-url", nobody]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot reach the LLM server at " + nobody)


def test_models_status_names_the_llm_server(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "status", "--llm-url", "http://127.0.0.1:8080/v1"]) == 0
    out = capsys.readouterr().out
    assert "llm: http://127.0.0.1:8080/v1 (RAG_LLM_URL" in out and out.count("missing") == 1, out
