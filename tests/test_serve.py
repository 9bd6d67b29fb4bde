"""``rag serve`` on fakes, called by the official ``openai`` client over HTTP on a loopback port.

The server is the real Starlette app on a real uvicorn server in this process; behind it the
chat app's service with the fake embedder and a scripted model over the seeds index, in the
default (grounded) answer design unless a test says otherwise.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import free_port
from conftest import ROOT
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources, sources_in

from rag.answer_text import render
from rag.errors import ModelError, RagError
from rag.factory import build_assistant
from rag.generate import GenerationStats, Message
from rag.serve.app import GENERIC, build_app, loopback_host, require_key_beyond_loopback, signature
from rag.serve.protocol import MODEL, marks, parse_request
from rag.settings import Settings
from rag.store import Store
from rag.types import Answer, AnswerSentence, Turn
from ui.service import ChatService

openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")

QUESTION = "What did Putin promise Lukashenko?"
REFUSED_QUESTION = "Who won the football World Cup in 2014?"
SECRET = "/srv/secret/path/db.sqlite is locked by pid 4242"
KEY = "sk-test-Zr8x"


def helping(messages: list[Message]) -> str:
    """The scripted model: the source sentences that speak of help ("Hilfe"), or a refusal for football."""
    if "football" in messages[-1]["content"]:
        return "NOT IN SOURCES"
    found = [s for p in sources_in(messages).values() for s in re.split(r"(?<=[.!?])\s+", p) if "Hilfe" in s]
    return " ".join(found[:1]) or "NOT IN SOURCES"


def yes(claim: str, source: str) -> bool:
    return True


class SlowGenerator:
    """A scripted model that pauses before each piece of a SLOW answer and counts those stopped before their end.

    Other streams may end early by design (a focused read stops once it has agreed).
    """

    def __init__(self, inner: ScriptedGenerator, delay_s: float = 0.05) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.stopped_early = 0

    model_id = "slow"
    last_stats: GenerationStats | None = None

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        slow = any("SLOW" in m["content"] for m in messages)
        done = False
        try:
            for piece in self.inner.stream(messages, max_tokens, temperature):
                time.sleep(self.delay_s if slow else 0.0)
                yield piece
            done = True
        finally:
            if not done and slow:
                self.stopped_early += 1


class FailingGenerator:
    model_id = "failing"
    last_stats: GenerationStats | None = None

    def __init__(self, error: Exception) -> None:
        self.error = error

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        raise self.error
        yield ""


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One HTTP client for the module: making one costs most of a second on a busy two-core machine."""
    with httpx.Client(timeout=30) as client:
        yield client


@dataclass
class Running:
    url: str
    service: ChatService
    settings: Settings
    http: httpx.Client

    @property
    def base(self) -> str:
        return self.url + "/v1"

    def client(self, key: str = "unused") -> Any:
        return openai.OpenAI(base_url=self.base, api_key=key, max_retries=0, timeout=30, http_client=self.http)


Start = Callable[..., Running]


@pytest.fixture
def start(ingested: Store, settings: Settings, embedder: FakeEmbedder, http: httpx.Client) -> Iterator[Start]:
    """``start(generator, keepalive_s=..., **settings)``: a served app on a free loopback port, stopped afterwards."""
    servers: list[tuple[Any, threading.Thread]] = []

    def run(generator: Any = None, keepalive_s: float = 10.0, **overrides: object) -> Running:
        s = settings.with_overrides(**{"refuse_below": 0.0, **overrides})
        gen = generator or ScriptedGenerator(helping, judge=yes)
        service = ChatService(s, embedder, gen, lambda st, e, g: build_assistant(st, embedder=e, generator=g))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(build_app(service, s, keepalive_s=keepalive_s), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return Running(f"http://127.0.0.1:{port}", service, s, http)

    yield run
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def document_text(running: Running, doc_id: str) -> str:
    return running.service.documents_by_id()[doc_id].text


# --- models -----------------------------------------------------------------------------------------------------


def test_one_model_is_listed(start: Start) -> None:
    client = start().client()
    assert [m.id for m in client.models.list()] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


# --- replies and their citations ----------------------------------------------------------------------------------


def check_citations(running: Running, content: str, annotations: list[dict[str, Any]],
                    citations: list[dict[str, Any]]) -> None:
    """Every [n] has its annotation and its citation; each citation's offsets frame its quote in the article."""
    assert citations, content
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1))
    by_n = {c["n"]: c for c in citations}
    written = [int(n) for n in re.findall(r"\[(\d+)\]", content)]
    assert sorted(set(written)) == sorted(by_n)
    assert len(annotations) == len(written)
    for a in annotations:
        assert a["type"] == "url_citation"
        u = a["url_citation"]
        mark = content[u["start_index"]:u["end_index"]]
        n = int(mark.strip("[]"))
        assert mark == f"[{n}]" and u["title"] == by_n[n]["title"] and u["url"] == by_n[n]["url"]
    documents: dict[str, int] = {}
    for c in citations:
        assert c["type"] == "char_location"
        text = document_text(running, c["doc_id"])
        assert text[c["start_char_index"]:c["end_char_index"]] == c["cited_text"]
        assert c["document_title"] == c["title"] and c["date"] and "source" in c
        assert c["document_index"] == documents.setdefault(c["doc_id"], len(documents))
        assert c["url"].startswith(running.url + "/article/")
        assert c["url"].endswith(f"#c{c['start_char_index']}-{c['end_char_index']}")


def test_a_reply_carries_the_marks_and_its_citations(start: Start) -> None:
    running = start()
    reply = running.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    message = reply.choices[0].message
    assert reply.object == "chat.completion" and reply.model == MODEL and reply.choices[0].finish_reason == "stop"
    assert message.role == "assistant" and "[1]" in (message.content or "")
    assert message.annotations and all(a.type == "url_citation" for a in message.annotations)
    extra = reply.model_extra or {}
    assert extra["refused"] is False
    check_citations(running, message.content or "", [a.model_dump() for a in message.annotations], extra["citations"])
    assert reply.usage is not None


def test_a_reply_carries_the_quotes_of_further_articles_too(start: Start) -> None:
    """The service streams the checked answer, then the quotes of a second article (``Corroborated``): the reply is
    the answer with both, the same as ``ask`` gives."""
    question = "What Prozent der Stimmen did Lukashenko get for a sechste Amtszeit?"
    running = start(ScriptedGenerator("Lukashenko got 80.1 percent of the vote."))
    reply = running.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    extra = reply.model_extra or {}
    assert len({c["doc_id"] for c in extra["citations"]}) == len(extra["citations"]) == 2
    assert (reply.choices[0].message.content or "").endswith("[1][2].")


def test_a_citation_url_opens_the_article_at_the_quote(start: Start) -> None:
    running = start()
    reply = running.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    cited = (reply.model_extra or {})["citations"][0]
    page = running.http.get(cited["url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    anchor = f"c{cited['start_char_index']}-{cited['end_char_index']}"
    assert f'<mark id="{anchor}">{html.escape(cited["cited_text"])}</mark>' in page.text
    assert html.escape(cited["title"]) in page.text and "script" not in page.headers["content-security-policy"]
    assert running.http.get(running.url + "/article/no-such-article").status_code == 404


def test_a_streamed_reply_is_the_same_reply_in_chunks(start: Start) -> None:
    running = start()
    client = running.client()
    whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                                 stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop"
    annotations = (last.choices[0].delta.model_extra or {})["annotations"]
    citations = (last.model_extra or {})["citations"]
    assert annotations == [a.model_dump() for a in whole.choices[0].message.annotations or []]
    assert citations == (whole.model_extra or {})["citations"]
    check_citations(running, text, annotations, citations)
    events = [(c.model_extra or {})["event"] for c in chunks if (c.model_extra or {}).get("event")]
    assert [e["type"] for e in events] == ["citation"] * len(citations)
    assert [e["data"]["document"] for e in events] == [[c["cited_text"]] for c in citations]
    assert [e["data"]["source"]["url"] for e in events] == [c["url"] for c in citations]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_the_stream_is_server_sent_events_ending_in_done(start: Start) -> None:
    running = start(SlowGenerator(ScriptedGenerator(helping, judge=yes), delay_s=0.05), keepalive_s=0.1)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "SLOW: " + QUESTION}], "stream": True}
    with running.http.stream("POST", running.base + "/chat/completions", json=body) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert ": keep-alive" in lines, "comment lines keep the connection open while the answer is checked"
    for line in lines[:-1]:
        assert line == ": keep-alive" or json.loads(line.removeprefix("data: "))["object"] == "chat.completion.chunk"


def test_several_citations_each_have_their_mark(start: Start) -> None:
    """An answer copying two passages cites both: two marks, two annotations, two citations."""
    running = start(ScriptedGenerator(echo_sources(1, 2)))
    reply = running.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    content = reply.choices[0].message.content or ""
    citations = (reply.model_extra or {})["citations"]
    assert len(citations) >= 2, content
    check_citations(running, content, [a.model_dump() for a in reply.choices[0].message.annotations or []], citations)


def test_a_refusal_cites_only_the_closest_passages_it_presents_as_such(start: Start) -> None:
    reply = start().client().chat.completions.create(model=MODEL,
                                                     messages=[{"role": "user", "content": REFUSED_QUESTION}])
    text = reply.choices[0].message.content or ""
    extra = reply.model_extra or {}
    assert extra["refused"] is True
    assert text.startswith("The articles don't say. The passages closest to the question, which do not state")
    assert [c["n"] for c in extra["citations"]] == [1, 2]
    annotations = reply.choices[0].message.annotations or []
    assert [text[a.url_citation.start_index:a.url_citation.end_index] for a in annotations] == ["[1]", "[2]"]


def test_marks_are_found_after_date_leads() -> None:
    """With articles of two dates each sentence has a lead; the marks' offsets still frame the marks."""
    sentences = [AnswerSentence("Lukashenko is 65.", (1,), True), AnswerSentence("He is 66", (2, 3), True)]
    leads = ["Reuters, August 2020: ", "dpa, September 2020: "]
    text = render(sentences, leads)
    answer = Answer("q", text, False, sentences=tuple(sentences))
    found = marks(answer)
    assert [(m.n, text[m.start:m.end]) for m in found] == [(1, "[1]"), (2, "[2]"), (3, "[3]")]
    assert text == "Reuters, August 2020: Lukashenko is 65 [1]. dpa, September 2020: He is 66 [2][3]"


# --- follow-ups -------------------------------------------------------------------------------------------------


def test_earlier_messages_are_the_history_of_a_follow_up(start: Start) -> None:
    gen = ScriptedGenerator(helping, judge=yes, rewrite=lambda q, prev, ans: "Where did Putin promise help?")
    running = start(gen)
    client = running.client()
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    said = first.choices[0].message.content or ""
    follow = client.chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": said},
        {"role": "user", "content": [{"type": "text", "text": "Where did he promise it?"}]},
    ])
    assert gen.rewrite_calls == [("Where did he promise it?", QUESTION, re.sub(r"\s*\[\d+\]", "", said))]
    assert "Question: Where did Putin promise help?" in gen.messages[-1]["content"], "the rewrite is what is answered"
    assert follow.choices[0].message.content


def test_a_request_becomes_a_question_and_turns() -> None:
    req = parse_request({"model": MODEL, "messages": [
        {"role": "developer", "content": "ignored"},
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1 [1]."},
        {"role": "user", "content": "unanswered"}, {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": [{"type": "text", "text": "A2"}, {"type": "refusal", "refusal": "no"}]},
        {"role": "user", "content": [{"type": "text", "text": "Q3"}, {"type": "text", "text": "really?"}]},
    ], "temperature": 0.7, "max_tokens": 5, "stream": True, "stream_options": {"include_usage": True}})
    assert req.question == "Q3\nreally?" and req.stream and req.include_usage
    assert req.history == (Turn("Q1", "A1 [1]."), Turn("Q2", "A2"))
    assert parse_request({"messages": [{"role": "user", "content": "Q"}]}).history == ()


# --- who may ask ---------------------------------------------------------------------------------------------------


def test_with_a_key_every_route_wants_it(start: Start) -> None:
    running = start(api_key=KEY)
    with pytest.raises(openai.AuthenticationError):
        running.client("wrong").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.AuthenticationError):
        running.client("wrong").models.list()
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("GET", "/v1/models/rag-news")):
        r = running.http.request(method, running.url + path, json={"messages": []})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key", (path, r.text)
    assert running.http.get(running.url + "/health").json() == {"status": "ok"}
    reply = running.client(KEY).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    url = (reply.model_extra or {})["citations"][0]["url"]
    doc_id = (reply.model_extra or {})["citations"][0]["doc_id"]
    assert f"sig={signature(KEY, doc_id)}" in url
    assert running.http.get(url).status_code == 200, "a signed article link opens in a browser"
    unsigned = re.sub(r"&?sig=[0-9a-f]+", "", url)
    assert running.http.get(unsigned).status_code == 401
    assert running.http.get(url.replace("sig=", "sig=0")).status_code == 401
    other = next(d for d in running.service.documents_by_id() if d != doc_id)
    assert running.http.get(url.replace(doc_id, other)).status_code == 401, "a link opens its own article only"
    assert running.http.get(unsigned, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_without_a_key_only_loopback_names_are_answered(start: Start) -> None:
    running = start()
    assert running.http.get(running.base + "/models").status_code == 200
    for host in ("localhost:8000", "127.0.0.1", "[::1]:9"):
        assert running.http.get(running.base + "/models", headers={"Host": host}).status_code == 200
    rebound = running.http.get(running.base + "/models", headers={"Host": "evil.example:8000"})
    assert rebound.status_code == 421 and rebound.json()["error"]["code"] == "host_not_allowed"
    assert loopback_host("127.5.0.1:80") and not loopback_host("localhost.evil.example")


def test_a_key_is_required_beyond_loopback() -> None:
    require_key_beyond_loopback("127.0.0.1", "")
    require_key_beyond_loopback("0.0.0.0", KEY)
    with pytest.raises(RagError, match="RAG_API_KEY"):
        require_key_beyond_loopback("0.0.0.0", "")


def test_rag_serve_on_every_interface_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    """One line, exit code 2, before any model loads (the models here do not even exist)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(tmp_path), RAG_LLM_PATH=str(tmp_path / "none.gguf"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to listen on 0.0.0.0 without an API key"), lines
    assert "RAG_API_KEY" in lines[0] and done.stdout == ""


# --- bad requests and failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "status", "param"), [
    (b"{not json", 400, None),
    ([1, 2], 400, None),
    ({}, 400, "messages"),
    ({"messages": []}, 400, "messages"),
    ({"messages": "hello"}, 400, "messages"),
    ({"messages": ["hello"]}, 400, "messages[0]"),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, 400, "messages"),
    ({"messages": [{"role": "user", "content": "   "}]}, 400, "messages"),
    ({"messages": [{"role": "user", "content": "why " * 300}]}, 400, "messages"),
    ({"messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}]}, 400, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]}, 400,
     "messages[0].content"),
    ({"messages": [{"role": "user", "content": 42}]}, 400, "messages[0].content"),
    ({"messages": [{"role": "user", "content": QUESTION}], "n": 2}, 400, "n"),
    ({"messages": [{"role": "user", "content": QUESTION}], "stream": "yes"}, 400, "stream"),
    ({"messages": [{"role": "user", "content": QUESTION}], "model": "gpt-4o"}, 404, "model"),
    ({"messages": [{"role": "user", "content": QUESTION}], "model": 7}, 400, "model"),
])
def test_bad_requests_get_one_line_openai_errors(start: Start, body: Any, status: int, param: str | None) -> None:
    running = start()
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = running.http.post(running.base + "/chat/completions", content=content,
                          headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert "\n" not in r.text.strip() and "Traceback" not in r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"] and error["param"] == param


def test_wrong_paths_methods_and_sizes_get_openai_errors(start: Start) -> None:
    running = start()
    for method, path, status in (("GET", "/v1/chat/completions", 405), ("GET", "/v1/nothing", 404),
                                 ("POST", "/v1/completions", 404)):
        r = running.http.request(method, running.url + path)
        assert r.status_code == status and r.json()["error"]["type"] == "invalid_request_error", r.text
    huge = running.http.post(running.base + "/chat/completions", content=b"x" * (2 << 20))
    assert huge.status_code == 413 and "at most" in huge.json()["error"]["message"]
    client = running.client()
    with pytest.raises(openai.BadRequestError, match="the question is empty"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": ""}])
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])


@pytest.mark.parametrize("stream", [False, True])
def test_failures_inside_reach_the_log_not_the_client(start: Start, caplog: pytest.LogCaptureFixture,
                                                      stream: bool) -> None:
    running = start(FailingGenerator(RuntimeError(SECRET)))
    client = running.client()
    with caplog.at_level(logging.ERROR, logger="rag.serve"):
        with pytest.raises(openai.APIError) as failed:
            reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                                   stream=stream)
            list(reply)  # type: ignore[call-overload]
        raw = running.http.post(running.base + "/chat/completions",
                                json={"messages": [{"role": "user", "content": QUESTION}], "stream": stream})
    assert GENERIC in str(failed.value)
    assert SECRET not in raw.text and "Traceback" not in raw.text and "RuntimeError" not in raw.text
    assert raw.status_code == (200 if stream else 500)
    if stream:
        events = [line for line in raw.text.splitlines() if line.startswith("data: {")]
        assert json.loads(events[-1].removeprefix("data: "))["error"]["message"] == GENERIC
        assert raw.text.rstrip().endswith("data: [DONE]")
    logged = "\n".join(r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records)
    assert SECRET in logged


def test_a_model_server_that_is_down_is_a_503_without_its_details(start: Start) -> None:
    running = start(FailingGenerator(ModelError(f"cannot reach the LLM server at http://10.1.2.3:8080/v1 {SECRET}")))
    asked = {"messages": [{"role": "user", "content": QUESTION}]}
    r = running.http.post(running.base + "/chat/completions", json=asked)
    assert r.status_code == 503 and SECRET not in r.text and "10.1.2.3" not in r.text


def test_a_client_that_goes_away_frees_the_model(start: Start) -> None:
    slow = SlowGenerator(ScriptedGenerator("word " * 400, piece_chars=5), delay_s=0.05)  # 20 s unless stopped
    running = start(slow, keepalive_s=0.1)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "SLOW: " + QUESTION}], "stream": True}
    with running.http.stream("POST", running.base + "/chat/completions", json=body) as response:
        next(response.iter_lines())  # the opening chunk: the answer is under way; hang up
    hung_up = time.monotonic()
    reply = running.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    took = time.monotonic() - hung_up
    assert reply.choices[0].message.content
    assert took < 10.0, f"the next answer waited {took:.1f} s behind an abandoned one"
    # Under load the abandoned answer may reach the model only after the next one: it is stopped then.
    deadline = time.monotonic() + 10.0
    while slow.stopped_early == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slow.stopped_early == 1, "the abandoned answer ran to its end"


def test_citation_urls_use_the_public_address_when_set(start: Start) -> None:
    running = start(api_public_url="https://news.example.org/rag/")
    reply = running.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    c: dict[str, Any] = (reply.model_extra or {})["citations"][0]
    assert c["url"].startswith("https://news.example.org/rag/article/" + c["doc_id"] + "?cite=")


def test_rag_serve_passes_host_port_and_time_limit(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.serve.app
    from rag.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(rag.serve.app, "serve", lambda s, host, port: seen.update(settings=s, host=host, port=port))
    monkeypatch.setenv("RAG_API_KEY", KEY)
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "--timeout", "30", "--llm-url", "http://h:1/v1"]) == 0
    assert (seen["host"], seen["port"], seen["settings"].ui_timeout_s) == ("0.0.0.0", 8123, 30.0)
    assert (seen["settings"].api_key, seen["settings"].llm_url) == (KEY, "http://h:1/v1")
