"""Several users of the chat app on fakes: no stuck model lock, time limits, a fair queue.

A slow fake model (``SlowGenerator``) streams the scripted answer with a pause per piece and
logs when each answer starts and how it ends; a question containing ``ENDLESS`` streams until
it is stopped, so it can only end by a cancel or a time limit. The service tests drive
``ChatService`` directly; the app tests start the real Gradio server on a loopback port and
call it over HTTP, as a browser or ``gradio_client`` would.

No test passes or fails on how fast the machine is: they assert the order of events (an answer
starts only after the one before it stopped; a stream that ended early was stopped), counters
(never two answers on the model) and queue positions. Time enters only as limits that make a
broken behaviour fail instead of hang: a stream that is not stopped runs until ``LONG_S``, while
the request after it gives up waiting for the model after ``WAIT_S``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import chain, repeat
from typing import Any

import httpx
import pytest
from browser import free_port
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources

from rag.factory import build_assistant
from rag.focused import READ_SYSTEM
from rag.generate import GenerationStats, Message
from rag.judge import ANSWER_SYSTEM, JUDGE_SYSTEM
from rag.pipeline import Done, Token
from rag.rewrite import REWRITE_SYSTEM
from rag.settings import Settings
from rag.store import Store
from rag.translate import SYSTEM as TRANSLATE_SYSTEM
from ui.service import ChatService, RequestTimeout

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

QUESTION = "What did Putin promise Lukashenko?"
ENDLESS_QUESTION = "ENDLESS: What did Putin promise Lukashenko?"
LONG_S = 900.0
"""A time limit no test reaches: a stream still running at it was never stopped."""
WAIT_S = 300.0
"""How long a request may wait for the model before it fails (well below ``LONG_S``)."""
_HELPERS = (JUDGE_SYSTEM, ANSWER_SYSTEM, REWRITE_SYSTEM, TRANSLATE_SYSTEM, READ_SYSTEM)
_WHO = [re.compile(p) for p in (r"ENDLESS", r"User \d", r"Putin promise", r"Er erhielt")]  # the first one found


class SlowGenerator:
    """A ``Generator`` that pauses before each piece, counts streams running at once and logs
    each answer's ``(event, who)``: ``start``, then ``finished`` or ``stopped`` (closed early).

    ``who`` names the question (``User 3``, ``ENDLESS``, ...). While ``gate`` is clear, an
    answer waits before its first piece (at most ``WAIT_S``). Judge, reading, rewrite and translation
    calls run without pause and are not logged, but count as model use.
    """

    def __init__(self, inner: ScriptedGenerator, delay_s: float = 0.01) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.gate = threading.Event()
        self.gate.set()
        self.log: list[tuple[str, str]] = []
        self.active = 0
        self.most_active = 0
        self._count = threading.Lock()

    @property
    def model_id(self) -> str:
        return "slow-scripted"

    @property
    def last_stats(self) -> GenerationStats | None:
        return None

    def forget(self) -> None:
        """Start the log and the count of answers at once afresh (after the app's warm-up)."""
        with self._count:
            self.log.clear()
            self.most_active = self.active

    def events(self, kind: str) -> list[str]:
        return [who for event, who in self.log if event == kind]

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        helper = bool(messages) and messages[0]["content"] in _HELPERS
        user = " ".join(m["content"] for m in messages if m["role"] == "user")
        who = next((m.group() for m in (w.search(user) for w in _WHO) if m), "?")
        with self._count:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            if not helper:
                self.log.append(("start", who))
        done = False
        try:
            pieces: Iterator[str] = self.inner.stream(messages, max_tokens, temperature)
            if helper:
                yield from pieces
            else:
                self.gate.wait(WAIT_S)
                if who == "ENDLESS":
                    pieces = chain(pieces, repeat(" und"))
                for piece in pieces:
                    time.sleep(self.delay_s)
                    yield piece
            done = True
        finally:
            with self._count:
                self.active -= 1
                if not helper:
                    self.log.append(("finished" if done else "stopped", who))


def make_service(settings: Settings, embedder: FakeEmbedder, gen: SlowGenerator, **overrides: object) -> ChatService:
    # The fake copies one short sentence per passage, so the slow fake's timings hold.
    s = settings.with_overrides(**{"refuse_below": 0.0, "ui_timeout_s": LONG_S, **overrides})
    return ChatService(s, embedder, gen, lambda st, e, g: build_assistant(st, embedder=e, generator=g))


def limit(service: ChatService, seconds: float) -> None:
    """The time limit of the requests made from now on (one already running keeps its own)."""
    service.settings = service.settings.with_overrides(ui_timeout_s=seconds)


@pytest.fixture
def slow() -> SlowGenerator:
    return SlowGenerator(ScriptedGenerator(echo_sources(1, 2)))


def ask(service: ChatService, question: str = QUESTION) -> dict[str, Any]:
    data = service.ask_json(question)
    assert data["question"] == question and data["answer"]
    return data


def wait_for(condition: Any, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


# --- the service ---------------------------------------------------------------------------------------------


def test_a_closed_stream_frees_the_model_for_the_next_request(ingested: Store, settings: Settings,
                                                              embedder: FakeEmbedder, slow: SlowGenerator) -> None:
    """A client closes an endless answer after its first token: the next request gets the model.
    Had the close not stopped it, it would hold the model until ``LONG_S`` and the next request
    would give up after ``WAIT_S``."""
    service = make_service(settings, embedder, slow)
    events = service.stream(ENDLESS_QUESTION)
    assert any(isinstance(e, Token) for e in _until_token(events))
    events.close()  # the client went away after its first token
    limit(service, WAIT_S)
    ask(service)
    assert slow.log == [("start", "ENDLESS"), ("stopped", "ENDLESS"), ("start", "Putin promise"),
                        ("finished", "Putin promise")]
    assert slow.most_active == 1


def test_an_abandoned_stream_frees_the_model_at_its_time_limit(ingested: Store, settings: Settings,
                                                               embedder: FakeEmbedder, slow: SlowGenerator) -> None:
    """Never closed, never read again (a client that vanished without a word): the endless answer
    holds the model only until its own time limit, then the waiting request gets it."""
    service = make_service(settings, embedder, slow, ui_timeout_s=1.0)
    events = service.stream(ENDLESS_QUESTION)
    list(_until_token(events))  # kept referenced, not closed: only the time limit can stop it
    limit(service, WAIT_S)
    ask(service)
    assert slow.log == [("start", "ENDLESS"), ("stopped", "ENDLESS"), ("start", "Putin promise"),
                        ("finished", "Putin promise")]
    assert slow.most_active == 1
    del events


def test_a_late_answer_is_stopped_with_a_message_and_the_model_freed(ingested: Store, settings: Settings,
                                                                     embedder: FakeEmbedder,
                                                                     slow: SlowGenerator) -> None:
    service = make_service(settings, embedder, slow, ui_timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(RequestTimeout, match="no answer within 1 s"):
        service.ask_json(ENDLESS_QUESTION)
    assert time.monotonic() - start >= 1.0, "stopped before its limit"
    limit(service, WAIT_S)
    ask(service)
    assert slow.events("stopped") == ["ENDLESS"] and slow.events("finished") == ["Putin promise"]
    assert slow.log.index(("stopped", "ENDLESS")) < slow.log.index(("start", "Putin promise"))


def test_a_late_stream_ends_with_the_timeout(ingested: Store, settings: Settings, embedder: FakeEmbedder,
                                            slow: SlowGenerator) -> None:
    service = make_service(settings, embedder, slow, ui_timeout_s=1.0)
    seen: list[object] = []
    with pytest.raises(RequestTimeout):
        for event in service.stream(ENDLESS_QUESTION):
            seen.append(event)
    assert any(isinstance(e, Token) for e in seen) and not any(isinstance(e, Done) for e in seen)


def test_translation_obeys_the_time_limit(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> None:
    gen = SlowGenerator(ScriptedGenerator("x" * 200, piece_chars=1), delay_s=0.001)
    service = make_service(settings, embedder, gen, ui_timeout_s=0.5)
    with pytest.raises(RequestTimeout):
        service.translate("ENDLESS Er erhielt 80,1 Prozent.", "en")
    limit(service, WAIT_S)
    assert service.translate("Er erhielt 80,1 Prozent.", "en") == "x" * 200
    assert gen.log == [("start", "ENDLESS"), ("stopped", "ENDLESS"), ("start", "Er erhielt"),
                       ("finished", "Er erhielt")]


def test_errors_inside_the_worker_reach_the_caller(ingested: Store, settings: Settings,
                                                   embedder: FakeEmbedder, slow: SlowGenerator) -> None:
    from rag.errors import InputError

    service = make_service(settings, embedder, slow, ui_timeout_s=WAIT_S)
    with pytest.raises(InputError, match="empty"):
        service.ask_json("   ")
    assert not service.lock.locked(), "the worker released the model before handing over its error"
    ask(service)


def test_the_guard_passes_on_the_models_yes_probability_and_obeys_the_ticket() -> None:
    """The answer judge reads P(yes) through the guard (so RAG_JUDGE_THRESHOLD holds in the app);
    a model that cannot tell gives a greedy yes or no; a cancelled request asks the model nothing."""
    from rag.generate import YesNoScorer
    from ui.service import GuardedGenerator, Ticket

    asked: list[object] = []

    class Scorer(ScriptedGenerator):
        def yes_probability(self, messages: Sequence[Message]) -> float:
            asked.append(messages)
            return 0.8

    judge = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": "Passage: a b\nClaim: c\n"}]
    guard = GuardedGenerator(Scorer())
    assert isinstance(guard, YesNoScorer) and guard.yes_probability(judge) == 0.8
    guard.inner = ScriptedGenerator(judge=lambda claim, passage: claim == passage)
    assert guard.yes_probability(judge) == 0.0
    judge[1]["content"] = "Passage: c\nClaim: c\n"
    assert guard.yes_probability(judge) == 1.0
    guard.inner = Scorer()
    guard.ticket = Ticket(60.0)
    guard.ticket.cancel()
    with pytest.raises(Exception) as stopped:  # noqa: B017 - the private _Stopped, named below
        guard.yes_probability(judge)
    assert type(stopped.value).__name__ == "_Stopped" and len(asked) == 1


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
    slow.forget()  # the warm-up at launch
    try:
        yield f"http://127.0.0.1:{port}", service
    finally:
        demo.close()


def client(url: str) -> Any:
    """A ``gradio_client.Client`` that waits for a slow server up to ``WAIT_S`` (its default is 20 s)."""
    from gradio_client import Client

    return Client(url.rstrip("/") + "/", verbose=False, httpx_kwargs={"timeout": WAIT_S})


def fn_index(url: str, api_name: str) -> int:
    deps = httpx.get(url + "/config", timeout=WAIT_S).json()["dependencies"]
    return next(i for i, d in enumerate(deps) if d.get("api_name") == api_name)


def test_a_client_that_disconnects_after_the_first_token_does_not_block_the_next(
        app_url: tuple[str, ChatService], slow: SlowGenerator) -> None:
    """Client A streams an endless answer in the chat and hangs up after its first token; B asks.
    B is answered only if the hang-up stopped A (else A holds the model until ``LONG_S``)."""

    url, service = app_url
    respond = fn_index(url, "respond")
    with httpx.Client(timeout=WAIT_S) as a:
        joined = a.post(url + "/gradio_api/queue/join", json={
            "data": [ENDLESS_QUESTION, [], None, None, 8, 0.0], "fn_index": respond, "session_hash": "client-a"})
        assert joined.status_code == 200, joined.text
        with a.stream("GET", url + "/gradio_api/queue/data?session_hash=client-a") as sse:
            for line in sse.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("msg") == "process_generating" and _chat_text(msg) not in ("", "…"):
                    break  # the first token: hang up
    limit(service, WAIT_S)
    answer = client(url).predict(QUESTION, api_name="/ask")
    assert answer["answer"] and not answer.get("error"), answer
    assert slow.log == [("start", "ENDLESS"), ("stopped", "ENDLESS"), ("start", "Putin promise"),
                        ("finished", "Putin promise")]
    assert slow.most_active == 1


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
    """User 0's answer is held on the model (its first piece waits for a gate) while users 1-4
    join the queue one after another, each told its place; then all are answered, one at a time,
    in the order they came."""
    from gradio_client.utils import Status

    url, service = app_url
    limit(service, WAIT_S)
    slow.gate.clear()
    clients = [client(url) for _ in range(5)]
    start = time.monotonic()
    submitted: dict[int, float] = {}
    ranks: dict[int, int | None] = {}
    finished: dict[int, float] = {}
    jobs = []
    for i, api in enumerate(clients):
        submitted[i] = time.monotonic() - start
        job = api.submit(f"User {i}: where did Putin and Lukashenko meet?", api_name="/ask")
        job.add_done_callback(lambda _, i=i: finished.__setitem__(i, time.monotonic() - start))
        jobs.append(job)
        if i == 0:
            wait_for(lambda: slow.events("start") == ["User 0"], "user 0's answer to reach the model")
        else:
            wait_for(lambda job=job: job.status().code == Status.IN_QUEUE and job.status().rank is not None,
                     f"user {i} to be given a place in the queue")
            ranks[i] = job.status().rank
    assert slow.events("finished") == [] and slow.active == 1, "all joined while user 0's answer was running"
    slow.gate.set()
    results = {i: job.result(timeout=WAIT_S) for i, job in enumerate(jobs)}
    report = ", ".join(f"user {i}: {finished[i] - submitted[i]:.2f} s" for i in sorted(finished))
    print(f"\nfive concurrent /ask calls answered after (user 0 held until all had joined): {report}; "
          f"places in the queue: {ranks}")
    assert all(results[i]["question"].startswith(f"User {i}:") and results[i]["answer"] for i in range(5)), results
    users = [f"User {i}" for i in range(5)]
    assert slow.log == [(event, u) for u in users for event in ("start", "finished")], slow.log
    assert slow.most_active == 1, "two answers ran on the model at once"
    assert [ranks[i] for i in range(1, 5)] == [0, 1, 2, 3], f"places told: {ranks}"


def test_a_late_answer_over_http_says_so_and_the_next_one_works(ingested: Store, settings: Settings,
                                                                embedder: FakeEmbedder,
                                                                slow: SlowGenerator) -> None:
    pytest.importorskip("gradio")

    from ui.app import launch

    service = make_service(settings, embedder, slow, ui_timeout_s=1.0)
    port = free_port()
    demo = launch(service.settings, port=port, service=service, block=False)
    slow.forget()  # the warm-up at launch
    try:
        api = client(f"http://127.0.0.1:{port}")
        late = api.predict(ENDLESS_QUESTION, api_name="/ask")
        assert "no answer within 1 s" in late["error"]
        limit(service, WAIT_S)
        ok = api.predict(QUESTION, api_name="/ask")
        assert ok["answer"] and not ok.get("error"), ok
        assert slow.log == [("start", "ENDLESS"), ("stopped", "ENDLESS"), ("start", "Putin promise"),
                            ("finished", "Putin promise")]
    finally:
        demo.close()
