"""Who may reach the chat app, and what a client learns when something breaks.

The app runs on fakes on a loopback port with a login set; every route is then
asked by a client without a session, with plain HTTP, as an attacker would.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import free_port
from conftest import ROOT, SEED_IDS
from fakes import FakeEmbedder, ScriptedGenerator, echo_sources

from rag.errors import RagError
from rag.factory import build_assistant
from rag.generate import GenerationStats, Message
from rag.settings import Settings
from rag.store import Store
from ui.security import is_loopback, parse_auth, require_auth_beyond_loopback
from ui.service import ChatService

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

LOGIN = ("alice", "correct horse battery")
SECRET = "/srv/secret/path/db.sqlite is locked by pid 4242"


def test_auth_setting_forms() -> None:
    assert parse_auth("") is None and parse_auth(None) is None
    pair = parse_auth("alice:pa:ss")
    assert pair is not None and pair("alice", "pa:ss") and not pair("alice", "pa") and not pair("bob", "pa:ss")
    token = parse_auth("Zr8x-token")
    assert token is not None and token("anyone", "Zr8x-token") and not token("anyone", "Zr8x")
    for bad in (":password", "user:"):
        with pytest.raises(RagError, match="RAG_UI_AUTH"):
            parse_auth(bad)


def test_settings_read_the_app_settings_and_hide_the_login() -> None:
    s = Settings.from_env({"RAG_UI_AUTH": "alice:pw", "RAG_UI_TIMEOUT_S": "30"})
    assert s.ui_auth == "alice:pw" and s.ui_timeout_s == 30.0
    assert "alice:pw" not in repr(s)
    assert Settings().ui_auth == "" and Settings().ui_timeout_s == 120.0
    from rag.cli import build_parser

    args = build_parser().parse_args(["ui", "--timeout", "45"])
    assert s.with_overrides(ui_timeout_s=args.ui_timeout_s).ui_timeout_s == 45.0
    assert build_parser().parse_args(["ui"]).ui_timeout_s is None


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("", False), ("::", False), ("192.168.1.10", False), ("no-such-host.invalid", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_login_is_required_beyond_loopback() -> None:
    require_auth_beyond_loopback("127.0.0.1", None)
    require_auth_beyond_loopback("0.0.0.0", parse_auth("alice:pw"))
    with pytest.raises(RagError, match="RAG_UI_AUTH"):
        require_auth_beyond_loopback("0.0.0.0", None)


def test_rag_ui_on_every_interface_without_a_login_refuses_to_start(tmp_path: Path) -> None:
    """One line, exit code 2, before any model loads (the models here do not even exist)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(tmp_path), RAG_LLM_PATH=str(tmp_path / "none.gguf"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ui", "--host", "0.0.0.0", "--port", str(free_port())],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to listen on 0.0.0.0"), done.stderr
    assert "RAG_UI_AUTH" in lines[0] and done.stdout == ""


class FailingGenerator:
    """A chat model that breaks with a message no client should see."""

    model_id = "failing"
    last_stats: GenerationStats | None = None

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        raise RuntimeError(SECRET)
        yield ""


def _service(settings: Settings, embedder: FakeEmbedder, generator: Any, **overrides: object) -> ChatService:
    s = settings.with_overrides(**{"refuse_below": 0.0, **overrides})
    return ChatService(s, embedder, generator, lambda st, e, g: build_assistant(st, embedder=e, generator=g))


@pytest.fixture
def locked_app(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> Iterator[tuple[str, ChatService]]:
    """The app with a login, on loopback."""
    pytest.importorskip("gradio")
    from ui.app import launch

    service = _service(settings, embedder, ScriptedGenerator(echo_sources(1, 2)), ui_auth=":".join(LOGIN))
    port = free_port()
    demo = launch(service.settings, port=port, service=service, block=False)
    try:
        yield f"http://127.0.0.1:{port}", service
    finally:
        demo.close()


def _fn_indexes(url: str, cookies: httpx.Cookies) -> dict[str, int]:
    deps = httpx.get(url + "/config", cookies=cookies, timeout=10).json()["dependencies"]
    return {str(d.get("api_name")): i for i, d in enumerate(deps)}


def test_every_route_refuses_a_client_without_a_session(locked_app: tuple[str, ChatService]) -> None:
    url, service = locked_app
    with httpx.Client(timeout=10) as login:
        assert login.post(url + "/login", data={"username": LOGIN[0], "password": LOGIN[1]}).status_code == 200
        fns = _fn_indexes(url, login.cookies)
    victim = service.documents()[0].doc_id
    session = "anonymous-1"
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/config", None),
        ("GET", "/gradio_api/info", None),
        ("GET", "/gradio_api/openapi.json", None),
        ("POST", "/gradio_api/queue/join", {"data": [victim], "fn_index": fns["delete"], "session_hash": session}),
        ("POST", "/gradio_api/queue/join", {"data": [None], "fn_index": fns["add"], "session_hash": session}),
        ("POST", "/gradio_api/queue/join",
         {"data": ["What did Putin promise?", [], None, None, 8, 0.0], "fn_index": fns["respond"],
          "session_hash": session}),
        ("POST", "/gradio_api/queue/join", {"data": ["What?"], "fn_index": fns["ask"], "session_hash": session}),
        ("GET", f"/gradio_api/queue/data?session_hash={session}", None),
        ("POST", "/gradio_api/call/ask", {"data": ["What?"]}),
        ("POST", "/gradio_api/run/ask", {"data": ["What?"]}),
        ("POST", "/gradio_api/api/ask", {"data": ["What?"]}),
        ("POST", "/gradio_api/upload", None),
        ("GET", "/gradio_api/upload_progress?upload_id=x", None),
        ("GET", "/gradio_api/file=/etc/passwd", None),
        ("GET", f"/gradio_api/file={service.settings.index_path}/CURRENT", None),
        ("POST", "/gradio_api/cancel", {"session_hash": session, "fn_index": fns["respond"], "event_id": "x"}),
        ("POST", "/gradio_api/reset", {"event_id": "x"}),
        ("GET", f"/gradio_api/heartbeat/{session}", None),
        ("POST", "/gradio_api/stream/x", {"data": [], "fn_index": 0, "session_hash": session}),
        ("GET", "/gradio_api/run-history/buckets", None),
        ("GET", "/gradio_api/user", None),
        ("GET", "/gradio_api/token", None),
        ("GET", "/monitoring", None),
    ]
    got = {}
    names = {i: n for n, i in fns.items()}
    with httpx.Client(timeout=10) as anonymous:
        for method, path, body in requests:
            what = f" ({names[body['fn_index']]})" if path.endswith("queue/join") and body else ""
            got[f"{method} {path}{what}"] = anonymous.request(method, url + path, json=body).status_code
        page = anonymous.get(url + "/")
        got["GET /gradio_api/login_check"] = anonymous.get(url + "/gradio_api/login_check").status_code
    print("\nunauthenticated:\n" + "\n".join(f"  {k}: {v}" for k, v in got.items()) + f"\n  GET /: {page.status_code}")
    assert all(code == 401 for code in got.values()), got
    assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")
    assert "/ask" not in page.text, "the login page describes the API"
    assert sorted(d.doc_id for d in service.documents()) == SEED_IDS


def test_the_login_opens_the_app_and_the_api(locked_app: tuple[str, ChatService]) -> None:
    from gradio_client import Client

    url, _ = locked_app
    with pytest.raises(ValueError, match="login"):
        Client(url + "/", auth=(LOGIN[0], "wrong"), verbose=False)
    client = Client(url + "/", auth=LOGIN, verbose=False)
    answer = client.predict("What did Putin promise Lukashenko?", api_name="/ask")
    assert answer["answer"] and not answer.get("error")
    with httpx.Client(timeout=10) as browser:
        assert browser.post(url + "/login", data={"username": LOGIN[0], "password": LOGIN[1]}).status_code == 200
        assert browser.get(url + "/config").status_code == 200
        assert browser.get(url + "/gradio_api/file=/etc/passwd").status_code in (403, 404)


def test_a_token_login(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> None:
    pytest.importorskip("gradio")
    from gradio_client import Client

    from ui.app import launch

    service = _service(settings, embedder, ScriptedGenerator(echo_sources(1, 2)), ui_auth="t0k3n-Zr8x")
    port = free_port()
    demo = launch(service.settings, port=port, service=service, block=False)
    try:
        assert httpx.post(f"http://127.0.0.1:{port}/gradio_api/call/ask", json={"data": ["x"]}).status_code == 401
        client = Client(f"http://127.0.0.1:{port}/", auth=("whoever", "t0k3n-Zr8x"), verbose=False)
        assert client.predict("Where did Putin and Lukashenko meet?", api_name="/ask")["answer"]
    finally:
        demo.close()


def test_corpus_events_are_not_on_the_api_page(ingested: Store, settings: Settings, embedder: FakeEmbedder) -> None:
    """Add and delete are UI events: not listed, not callable by name; the browser reaches them by index,
    which is why beyond loopback nothing is reachable without the login."""
    pytest.importorskip("gradio")
    from gradio_client import Client

    from ui.app import launch

    service = _service(settings, embedder, ScriptedGenerator(echo_sources(1, 2)))
    port = free_port()
    demo = launch(service.settings, port=port, service=service, block=False)
    try:
        url = f"http://127.0.0.1:{port}"
        info = httpx.get(url + "/gradio_api/info", timeout=10).json()
        assert list(info["named_endpoints"]) == ["/ask"] and not info["unnamed_endpoints"]
        client = Client(url + "/", verbose=False)
        for name in ("/add", "/delete", "/respond", "/corpus_rows"):
            with pytest.raises(ValueError):
                client.predict("x", api_name=name)
    finally:
        demo.close()


def _queue_call(url: str, fn_index: int, data: list[Any]) -> list[dict[str, Any]]:
    """Join the queue as the browser does and return every message up to the final one."""
    session = f"s{fn_index}"
    messages = []
    with httpx.Client(timeout=30) as http:
        joined = http.post(url + "/gradio_api/queue/join",
                           json={"data": data, "fn_index": fn_index, "session_hash": session})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", url + f"/gradio_api/queue/data?session_hash={session}") as sse:
            for line in sse.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                messages.append(msg)
                if msg.get("msg") == "process_completed":
                    return messages
    raise AssertionError("no process_completed message")


def test_clients_get_a_generic_line_and_the_server_log_gets_the_error(
        ingested: Store, settings: Settings, embedder: FakeEmbedder, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("gradio")
    from gradio_client import Client

    from ui.app import GENERIC_ERROR, launch

    service = _service(settings, embedder, FailingGenerator())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with caplog.at_level(logging.ERROR, logger="rag.ui"):
        demo = launch(service.settings, port=port, service=service, block=False)
        try:
            client = Client(url + "/", verbose=False)
            failed = client.predict("What did Putin promise Lukashenko?", api_name="/ask")
            assert failed["error"] == GENERIC_ERROR
            fns = {str(d.get("api_name")): i for i, d in
                   enumerate(httpx.get(url + "/config", timeout=10).json()["dependencies"])}
            chat = _queue_call(url, fns["respond"], ["What did Putin promise Lukashenko?", [], None, None, 8, 0.0])
            # input errors meant for users keep their own line
            empty = client.predict("  ", api_name="/ask")
            long = client.predict("why " * 400, api_name="/ask")
        finally:
            demo.close()
    assert demo.show_error is False  # nor does Gradio send the text of an error that escapes a handler
    sent = json.dumps([failed, chat])
    assert SECRET not in sent and "Traceback" not in sent and "RuntimeError" not in sent
    assert chat[-1]["success"] and GENERIC_ERROR in json.dumps(chat)
    assert empty["error"] == "the question is empty"
    assert "longer than" in long["error"]
    logged = "\n".join(r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records)
    assert SECRET in logged


def test_user_message_keeps_user_errors_and_hides_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("gradio")
    from rag.errors import InputError
    from ui.app import GENERIC_ERROR, user_message

    with caplog.at_level(logging.INFO, logger="rag.ui"):
        assert user_message(InputError("nothing to translate"), "translation") == "nothing to translate"
        assert user_message(OSError(SECRET), "translation") == GENERIC_ERROR
    assert any(r.exc_info and SECRET in str(r.exc_info[1]) for r in caplog.records)
