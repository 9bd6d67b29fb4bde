"""Who may use the app: the login required beyond loopback, and a gate in front of every route.

``RAG_UI_AUTH`` is either ``user:password`` (sign in with exactly that) or a bare
token (sign in with any user name and the token as password; API clients pass
``auth=("any", token)`` to ``gradio_client.Client``). Gradio's own login sets a
session cookie and checks it on its file, config, upload and queue routes; a few
of its routes (``/cancel``, ``/stream/…``, ``/heartbeat/…``, ``/reset``, run
history) are not checked, so ``AuthGate`` refuses every
request without a valid session except the login page itself and its static files.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from rag.errors import RagError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Check = Callable[[str, str], bool]


class AuthSettingError(RagError):
    pass


def parse_auth(value: str | None) -> Check | None:
    """``user:password`` or a bare token -> Gradio's ``auth`` callable; empty -> None (no login)."""
    value = (value or "").strip()
    if not value:
        return None
    if ":" in value:
        user, password = value.split(":", 1)
        if not user.strip() or not password:
            raise AuthSettingError("RAG_UI_AUTH must be user:password (both non-empty) or a token")
        user = user.strip()

        def check_pair(username: str, given: str) -> bool:
            ok_user = hmac.compare_digest(username.strip().encode(), user.encode())
            ok_password = hmac.compare_digest(given.encode(), password.encode())
            return ok_user and ok_password

        return check_pair

    def check_token(username: str, given: str) -> bool:  # any user name
        return hmac.compare_digest(given.encode(), value.encode())

    return check_token


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address (127.0.0.0/8, ::1)."""
    host = (host or "").strip().strip("[]")
    if not host:
        return False  # "" binds every interface
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


def require_auth_beyond_loopback(host: str, auth: Check | None) -> None:
    """Refuse to serve the archive to a network without a login."""
    if auth is None and not is_loopback(host):
        raise AuthSettingError(
            f"refusing to listen on {host or 'every interface'} without a login: set RAG_UI_AUTH=user:password "
            "(or a token), or bind 127.0.0.1")


# Reachable without a session: the login page, what it loads, and the login itself.
OPEN_PATHS = frozenset({
    "/", "/login", "/login/", "/logout", "/favicon.ico", "/manifest.json", "/robots.txt", "/theme.css",
    "/gradio_api/theme.css", "/gradio_api/login_check", "/gradio_api/login_check/",
    "/gradio_api/startup-events",  # Gradio calls it itself while starting; afterwards it does nothing
})
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")


def session_user(scope: Scope) -> str | None:
    """The user of a valid Gradio session cookie on this request, if any."""
    from starlette.requests import HTTPConnection

    app = scope.get("app")
    tokens = getattr(app, "tokens", None)
    cookie_id = getattr(app, "cookie_id", None)
    if not tokens or cookie_id is None:
        return None
    cookies = HTTPConnection(scope).cookies
    for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
        token = cookies.get(name)
        if token and token in tokens:
            return str(tokens[token])
    return None


class AuthGate:
    """ASGI middleware: with a login configured, only the login page is open to anonymous clients."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._required(scope):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if session_user(scope) is not None or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        if path == "/" and scope["type"] == "http" and scope.get("method") == "GET":
            await self.app(scope, receive, _without_api_info(send))
            return
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"detail":"Not authenticated"}'
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _required(scope: Scope) -> bool:
        app = scope.get("app")
        return getattr(app, "auth", None) is not None or getattr(app, "auth_dependency", None) is not None


_API_INFO = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.S)
_NO_API_INFO = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'


def _without_api_info(send: Send) -> Send:
    """The login page without the API description Gradio embeds in every page."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = _API_INFO.sub(lambda _: _NO_API_INFO, b"".join(chunks))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped
