"""Several users of the chat app on fakes: no stuck model lock, time limits, a fair queue.

A slow fake model (``SlowGenerator``) streams the scripted answer with a pause
per piece; a question containing ``SLOW`` pauses much longer. The service tests
drive ``ChatService`` directly; the app tests start the real Gradio server on a
loopback port and call it over HTTP, as a browser or ``gradio_client`` would.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from browser import free_port
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources

from rag.factory import build_assistant
from rag.generate import GenerationStats, Message
from rag.pipeline import Done, Token
from rag.settings import Settings
from rag.store import Store
from ui.service import ChatService, RequestTimeout

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

QUESTION = "What did Putin promise Lukashenko?"
SLOW_QUESTION = "SLOW: What did Putin promise Lukashenko?"


class SlowGenerator:
    """A ``Generator`` that pauses before each piece and records how each stream ended."""

    def __init__(self, inner: ScriptedGenerator, delay_s: float = 0.01, slow_delay_s: float = 0.3) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.slow_delay_s = slow_delay_s
        self.finished = 0
        self.stopped_early = 0
        self.active = 0
        self.most_active = 0
        self._count = threading.Lock()

    @property
    def model_id(self) -> str:
        return "slow-scripted"

    @property
    def last_stats(self) -> GenerationStats | None:
        return None

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        slow = any("SLOW" in m["content"] for m in messages if m["role"] == "user")
        delay = self.slow_delay_s if slow else self.delay_s
        with self._count:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        done = False
        try:
            for piece in self.inner.stream(messages, max_tokens, temperature):
                time.sleep(delay)
                yield piece
            done = True
        finally:
            with self._count:
                self.active -= 1
                if done:
                    self.finished += 1
                else:
                    self.stopped_early += 1


def make_service(settings: Settings, embedder: FakeEmbedder, gen: SlowGenerator, **overrides: object) -> ChatService:
    # The fake copies one short sentence per passage, so the slow fake's timings hold.
    s = settings.with_overrides(**{"refuse_below": 0.0, **overrides})
    return ChatService(s, embedder, gen, lambda st, e, g: build_assistant(st, embedder=e, generator=g))


@pytest.fixture
def slow() -> SlowGenerator:
    return SlowGenerator(ScriptedGenerator(echo_sources(1, 2)))


def timed_ask(service: ChatService, question: str = QUESTION) -> float:
    start = time.monotonic()
    data = service.ask_json(question)
    assert data["question"] == question and data["answer"]
    return time.monotonic() - start


# --- the service ---------------------------------------------------------------------------------------------


def test_a_closed_stream_frees_the_model_at_once(ingested: Store, settings: Settings, embedder: FakeEmbedder,
                                                 slow: SlowGenerator) -> None:
    service = make_service(settings, embedder, slow)
    events = service.stream(SLOW_QUESTION)
    assert any(isinstance(e, Token) for e in _until_token(events))
    started = time.monotonic()
    events.close()  # the client went away after its first token
    took = timed_ask(service)
    assert took < 3.0, f"the second answer waited {took:.1f} s for an abandoned one"
    assert slow.stopped_early == 1 and slow.most_active == 1
    assert time.monotonic() - started < 3.0


def test_an_abandoned_stream_frees_the_model_at_its_time_limit(ingested: Store, settings: Settings,
                                                               embedder: FakeEmbedder, slow: SlowGenerator) -> None:
    """Never closed, never read again (a client that vanished without a word): held only until the limit."""
    service = make_service(settings, embedder, slow, ui_timeout_s=1.5)
    events = service.stream(SLOW_QUESTION)
    list(_until_token(events))  # kept referenced, not closed
    took = timed_ask(service)
    assert took < 3.0, f"the second answer waited {took:.1f} s"
    assert slow.stopped_early == 1 and slow.most_active == 1
    del events


def test_a_late_answer_is_stopped_with_a_message_and_the_model_freed(ingested: Store, settings: Settings,
                                                                     embedder: FakeEmbedder,
                                                                     slow: SlowGenerator) -> None:
    service = make_service(settings, embedder, slow, ui_timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(RequestTimeout, match="no answer within 1 s"):
        service.ask_json(SLOW_QUESTION)
    assert time.monotonic() - start < 2.0
    assert timed_ask(service) < 3.0
    assert slow.stopped_early == 1


def test_a_late_stream_ends_with_the_timeout(ingested: Store, settings: Settings, embedder: FakeEmbedder,
                                            slow: SlowGenerator) -> None:
    service = make_service(settings, embedder, slow, ui_timeout_s=1.0)
    seen: list[object] = []
    with pytest.raises(RequestTimeout):
        for event in service.stream(SLOW_QUESTION):
            seen.append(event)
    assert any(isinstance(e, Token) for e in seen) and not any(isinstance(e, Done) for e in seen)


def test_translation_obeys_the_time_limit(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> None:
    gen = SlowGenerator(ScriptedGenerator("x" * 200, piece_chars=1), delay_s=0.05)
    service = make_service(settings, embedder, gen, ui_timeout_s=0.5)
    with pytest.raises(RequestTimeout):
        service.translate("Er erhielt 80,1 Prozent.", "en")
    gen.delay_s = 0.0
    assert service.translate("Er erhielt 80,1 Prozent.", "en") == "x" * 200


def test_errors_inside_the_worker_reach_the_caller(ingested: Store, settings: Settings,
                                                   embedder: FakeEmbedder, slow: SlowGenerator) -> None:
    from rag.errors import InputError

    service = make_service(settings, embedder, slow)
    with pytest.raises(InputError, match="empty"):
        service.ask_json("   ")
    assert timed_ask(service) < 3.0  # the lock was released


def _until_token(events: Iterator[Any]) -> Iterator[Any]:
    for event in events:
        yield event
        if isinstance(event, Token):
            return


# --- the app over HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
def app_url(ingested: Store, settings: Settings, embedder: FakeEmbedder,
            slow: SlowGenerator) -> Iterator[tuple[str, ChatService]]:
    pytest.importorskip("gradio")
    from ui.app import launch

    service = make_service(settings, embedder, slow)
    port = free_port()
    demo = launch(service.settings, port=port, service=service, block=False)
    try:
        yield f"http://127.0.0.1:{port}", service
    finally:
        demo.close()


def fn_index(url: str, api_name: str) -> int:
    deps = httpx.get(url + "/config", timeout=10).json()["dependencies"]
    return next(i for i, d in enumerate(deps) if d.get("api_name") == api_name)


def test_a_client_that_disconnects_after_the_first_token_does_not_block_the_next(
        app_url: tuple[str, ChatService], slow: SlowGenerator) -> None:
    """Client A streams a slow answer in the chat and hangs up after its first token; B asks at once."""
    from gradio_client import Client

    url, _ = app_url
    respond = fn_index(url, "respond")
    with httpx.Client(timeout=30) as a:
        joined = a.post(url + "/gradio_api/queue/join", json={
            "data": [SLOW_QUESTION, [], None, None, 8, 0.0], "fn_index": respond, "session_hash": "client-a"})
        assert joined.status_code == 200, joined.text
        with a.stream("GET", url + "/gradio_api/queue/data?session_hash=client-a") as sse:
            for line in sse.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("msg") == "process_generating" and _chat_text(msg) not in ("", "…"):
                    break  # the first token: hang up
    hung_up = time.monotonic()
    b = Client(url + "/", verbose=False)
    answer = b.predict(QUESTION, api_name="/ask")
    took = time.monotonic() - hung_up
    print(f"\nB's answer {took:.2f} s after A hung up; A's stream stopped early: {slow.stopped_early}")
    assert answer["answer"] and not answer.get("error")
    assert took < 5.0, f"B waited {took:.1f} s behind an abandoned stream"
    assert slow.stopped_early >= 1 and slow.most_active == 1


def _chat_text(msg: dict[str, Any]) -> str:
    data = (msg.get("output") or {}).get("data") or []
    if len(data) < 2 or not isinstance(data[1], list):
        return ""
    text = ""
    for item in data[1]:  # the Chatbot value, or a diff of it
        if isinstance(item, dict):
            text = str(item.get("content", text))
        elif isinstance(item, list) and item and item[0] in ("append", "replace", "add"):
            text = str(item[-1])
    return text


def test_five_concurrent_users_all_answered_in_queue_order(app_url: tuple[str, ChatService],
                                                           slow: SlowGenerator) -> None:
    from gradio_client import Client

    url, _ = app_url
    slow.delay_s = 0.03  # about a second an answer, so all five wait at once
    clients = [Client(url + "/", verbose=False) for _ in range(5)]
    start = time.monotonic()
    submitted: dict[int, float] = {}
    finished: dict[int, float] = {}
    ranks: dict[int, int] = {}
    results: dict[int, dict[str, Any]] = {}
    jobs = []
    for i, client in enumerate(clients):
        submitted[i] = time.monotonic() - start
        jobs.append(client.submit(f"User {i}: where did Putin and Lukashenko meet?", api_name="/ask"))
        time.sleep(0.15)  # join the queue in this order
    deadline = start + 60
    while len(finished) < 5 and time.monotonic() < deadline:
        for i, job in enumerate(jobs):
            if i in finished:
                continue
            status = job.status()
            if status.rank is not None:
                ranks[i] = max(ranks.get(i, 0), status.rank)
            if job.done():
                finished[i] = time.monotonic() - start
                results[i] = job.result()
        time.sleep(0.02)
    report = ", ".join(f"user {i}: {finished[i] - submitted[i]:.2f} s" for i in sorted(finished))
    print(f"\nfive concurrent /ask calls (asked 0.15 s apart) answered after: {report}; "
          f"most questions ahead seen: {[ranks.get(i, 0) for i in range(5)]}")
    assert sorted(finished) == [0, 1, 2, 3, 4]
    assert all(results[i]["question"].startswith(f"User {i}:") and results[i]["answer"] for i in range(5))
    order = sorted(finished, key=finished.__getitem__)
    assert order == [0, 1, 2, 3, 4], f"finished in order {order}"
    assert slow.most_active == 1, "two answers ran on the model at once"
    assert max(ranks.values(), default=0) >= 2, "the queue position was never reported"


def test_a_late_answer_over_http_says_so_and_the_next_one_works(ingested: Store, settings: Settings,
                                                                embedder: FakeEmbedder,
                                                                slow: SlowGenerator) -> None:
    pytest.importorskip("gradio")
    from gradio_client import Client

    from ui.app import launch

    service = make_service(settings, embedder, slow, ui_timeout_s=1.0)
    port = free_port()
    demo = launch(service.settings, port=port, service=service, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        late = client.predict(SLOW_QUESTION, api_name="/ask")
        assert "no answer within 1 s" in late["error"]
        start = time.monotonic()
        ok = client.predict(QUESTION, api_name="/ask")
        assert ok["answer"] and time.monotonic() - start < 3.0
    finally:
        demo.close()
