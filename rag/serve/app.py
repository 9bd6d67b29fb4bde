"""The HTTP side of ``rag serve``: a Starlette app on uvicorn, answering through the chat app's service.

Routes: ``GET /v1/models`` (and ``/v1/models/{id}``), ``POST /v1/chat/completions`` (whole or
streamed as server-sent events), ``GET /article/{doc_id}`` (the article a citation's url opens,
the quote marked), ``GET /health`` (for load balancers; says nothing else).

Answers run on ``ui.service.ChatService``, the same worker the Gradio app uses (it imports no
gradio): one answer at a time per process, a time limit (``RAG_UI_TIMEOUT_S``), and a client
that goes away frees the model at the next token. A stream sends its opening chunk at once, a
comment line every ``keepalive_s`` while the answer is worked out, then the checked answer; the
unchecked draft is never sent, since the checks may drop its sentences and renumber its citations.

Who may ask: with ``RAG_API_KEY`` set, every route but ``/health`` wants ``Authorization: Bearer
<key>``; an article link carries a signature instead (``sig``, an HMAC of the article id under the
key) so it opens in a browser, and it opens that one article only. Without a key the server
refuses to listen beyond loopback, and it answers only requests addressed to a loopback name, so
a web page cannot reach it through DNS rebinding. Clients get one-line JSON errors in OpenAI's
shape; what went wrong inside goes to the log, never to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import ipaddress
import json
import logging
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote, urlencode

from rag.errors import InputError, ModelMissingError, RagError, printable
from rag.pipeline import Corroborated, Done
from rag.serve.protocol import (
    MODEL,
    BadRequest,
    ChatRequest,
    ChunkMaker,
    completion,
    error_body,
    new_id,
    parse_request,
)
from rag.settings import Settings
from rag.types import Answer, Citation, Document
from ui.security import is_loopback
from ui.service import ChatService, RequestTimeout

log = logging.getLogger("rag.serve")

MAX_BODY_BYTES = 1 << 20
GENERIC = "Something went wrong; see the server log."
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class ApiKeyError(RagError):
    pass


def require_key_beyond_loopback(host: str, key: str) -> None:
    """Refuse to serve the archive to a network without an API key."""
    if not key and not is_loopback(host):
        raise ApiKeyError(f"refusing to listen on {host or 'every interface'} without an API key: set RAG_API_KEY "
                          "(clients send it as Authorization: Bearer), or bind 127.0.0.1")


def signature(key: str, doc_id: str) -> str:
    """The ``sig`` of an article link: it opens ``doc_id`` for as long as the key stays the same."""
    return hmac.new(key.encode(), f"article:{doc_id}".encode(), hashlib.sha256).hexdigest()[:32]


def failure(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """What a client learns of an error: its own mistakes and time-outs in words, the rest as one generic line."""
    if isinstance(exc, BadRequest):
        return exc.status, error_body(exc.message, exc.kind, exc.code, exc.param)
    if isinstance(exc, InputError):
        log.info("bad question: %s", exc)
        return 400, error_body(printable(exc), "invalid_request_error")
    if isinstance(exc, RequestTimeout):
        log.info("%s", exc)
        return 504, error_body(printable(exc), "server_error", "timeout")
    if isinstance(exc, ModelMissingError):
        log.error("no model: %s", exc)
        return 503, error_body("The archive's models are not available; see the server log.", "server_error")
    if isinstance(exc, RagError):
        log.error("answer failed: %s", exc)
        return 503, error_body("The archive could not answer; see the server log.", "server_error")
    log.error("answer failed", exc_info=exc)
    return 500, error_body(GENERIC, "server_error")


_END = object()


class AnswerRun:
    """One answer on the service's worker, handed to the event loop through an asyncio queue.

    A thread drains ``service.stream`` (its token events keep it looking at ``stop``) and passes
    on the final answer (with the quotes of further articles, ``Corroborated``) or the error;
    ``cancel`` makes it close the stream at the next event, which frees the model.
    """

    def __init__(self, service: ChatService, request: ChatRequest) -> None:
        self.service = service
        self.request = request
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.stop = threading.Event()
        threading.Thread(target=self._produce, name="rag-serve-answer", daemon=True).start()

    def _put(self, item: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting any more
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def _produce(self) -> None:
        events = self.service.stream(self.request.question, self.request.history)
        answer: Answer | None = None
        try:
            for event in events:
                if isinstance(event, Done | Corroborated):
                    answer = event.answer
                if self.stop.is_set():
                    break
            if answer is not None:
                self._put(answer)
        except BaseException as exc:  # handed to the request, which reports it
            if answer is not None:
                log.error("further quotes failed; the checked answer is sent without them", exc_info=exc)
            self._put(answer if answer is not None else exc)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # frees the model at its next token
            self._put(_END)

    async def next(self, timeout_s: float) -> object:
        """The answer, an exception, ``_END``; or None when ``timeout_s`` passed first."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout_s)
        except TimeoutError:
            return None

    def cancel(self) -> None:
        self.stop.set()


class Api:
    """The routes, bound to one service and its settings."""

    def __init__(self, service: ChatService, settings: Settings, model: str = MODEL, keepalive_s: float = 10.0) -> None:
        self.service = service
        self.settings = settings
        self.model = model
        self.key = settings.api_key
        self.keepalive_s = keepalive_s
        self.created = int(time.time())

    # --- who may ask -----------------------------------------------------------------------------------------

    def authorized(self, request: Any) -> bool:
        if not self.key:
            return True
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.key.encode())

    def link(self, request: Any) -> Callable[[Citation], str]:
        base = (self.settings.api_public_url or str(request.base_url)).rstrip("/")

        def url(c: Citation) -> str:
            query: dict[str, str] = {}
            fragment = ""
            if 0 <= c.quote_start < c.quote_end:
                query["cite"] = f"{c.quote_start}-{c.quote_end}"
                fragment = f"#c{c.quote_start}-{c.quote_end}"
            if self.key:
                query["sig"] = signature(self.key, c.doc_id)
            return f"{base}/article/{quote(c.doc_id, safe='')}" + (f"?{urlencode(query)}" if query else "") + fragment

        return url

    # --- routes ----------------------------------------------------------------------------------------------

    async def models(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        self._require_key(request)
        return JSONResponse({"object": "list", "data": [self._model_card()]})

    async def model_card(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        self._require_key(request)
        if request.path_params["model"] != self.model:
            raise BadRequest(f"The model {request.path_params['model']!r} does not exist", "model",
                             "model_not_found", 404)
        return JSONResponse(self._model_card())

    def _model_card(self) -> dict[str, Any]:
        return {"id": self.model, "object": "model", "created": self.created, "owned_by": "rag-news"}

    async def health(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok"})

    async def chat(self, request: Any) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse

        self._require_key(request)
        asked = parse_request(await read_json(request), self.model)
        link = self.link(request)
        if asked.stream:
            return StreamingResponse(self._stream(asked, link), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        run = AnswerRun(self.service, asked)
        try:
            while True:
                item = await run.next(1.0)
                if item is None:
                    if await request.is_disconnected():
                        return JSONResponse(error_body("the client went away", "invalid_request_error"), 499)
                    continue
                break
        finally:
            run.cancel()
        if not isinstance(item, Answer):
            status, body = failure(item if isinstance(item, BaseException) else RuntimeError("no answer"))
            return JSONResponse(body, status)
        return JSONResponse(completion(item, link, self.model))

    async def _stream(self, asked: ChatRequest, link: Callable[[Citation], str]) -> AsyncIterator[str]:
        maker = ChunkMaker(new_id(), int(time.time()), self.model)
        run = AnswerRun(self.service, asked)
        try:
            yield sse(maker.opening())
            item = await run.next(self.keepalive_s)
            while item is None:
                yield ": keep-alive\n\n"
                item = await run.next(self.keepalive_s)
            if isinstance(item, Answer):
                for chunk in maker.reply(item, link, asked.include_usage):
                    yield sse(chunk)
            else:
                yield sse(failure(item if isinstance(item, BaseException) else RuntimeError("no answer"))[1])
            yield "data: [DONE]\n\n"
        finally:
            run.cancel()

    async def article(self, request: Any) -> Any:
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import HTMLResponse

        doc_id = request.path_params["doc_id"]
        sig = request.query_params.get("sig", "")
        if not self.authorized(request) and not hmac.compare_digest(sig.encode(), signature(self.key, doc_id).encode()):
            raise BadRequest("a valid API key or article link is required", code="invalid_api_key", status=401)
        documents = await run_in_threadpool(self.service.documents_by_id)
        doc = documents.get(doc_id)
        if doc is None:
            raise BadRequest(f"no article {printable(doc_id)!r} in the archive", code="not_found", status=404)
        page = article_html(doc, parse_span(request.query_params.get("cite", ""), len(doc.text)))
        return HTMLResponse(page, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                                           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    def _require_key(self, request: Any) -> None:
        if not self.authorized(request):
            raise BadRequest("Incorrect or missing API key: send Authorization: Bearer <RAG_API_KEY>",
                             code="invalid_api_key", status=401)


def sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def read_json(request: Any) -> Any:
    """The body as JSON, at most ``MAX_BODY_BYTES``."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise BadRequest(f"the request body must be at most {MAX_BODY_BYTES} bytes", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequest(f"the request body must be at most {MAX_BODY_BYTES} bytes", status=413)
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request body is not valid JSON") from None


_SPAN = re.compile(r"^(\d{1,9})-(\d{1,9})$")


def parse_span(text: str, length: int) -> tuple[int, int] | None:
    m = _SPAN.match(text or "")
    if not m:
        return None
    start, end = int(m.group(1)), int(m.group(2))
    return (start, end) if 0 <= start < end <= length else None


ARTICLE_CSS = """
body { font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }
header p { color: #555; font-size: 0.9em; }
article { white-space: pre-wrap; }
mark { background: #ffd54f; font-weight: 600; scroll-margin-top: 30vh; }
"""


def article_html(doc: Document, span: tuple[int, int] | None) -> str:
    """The whole article, the cited span in a ``<mark id="cSTART-END">`` the link's fragment scrolls to."""
    text = doc.text
    if span is None:
        body = html.escape(text)
    else:
        s, e = span
        body = (html.escape(text[:s]) + f'<mark id="c{s}-{e}">' + html.escape(text[s:e]) + "</mark>"
                + html.escape(text[e:]))
    meta = " · ".join(x for x in (doc.date or "", doc.source or "", doc.doc_id) if x)
    return (f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{html.escape(doc.title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{ARTICLE_CSS}</style></head>'
            f"<body><header><h1>{html.escape(doc.title)}</h1><p>{html.escape(meta)}</p></header>"
            f"<article>{body}</article></body></html>")


def loopback_host(header: str) -> bool:
    """Whether a ``Host`` header names this machine by a loopback name (``localhost``, ``127.x``, ``[::1]``)."""
    host = header.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackHosts:
    """ASGI middleware for a server without a key: only requests addressed to a loopback name are answered."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if not loopback_host(host):
                body = json.dumps(error_body("this server answers only to 127.0.0.1 and localhost; set RAG_API_KEY "
                                             "to serve other hosts", code="host_not_allowed")).encode()
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def build_app(service: ChatService, settings: Settings, model: str = MODEL, keepalive_s: float = 10.0) -> Any:
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    api = Api(service, settings, model, keepalive_s)

    async def bad_request(request: Request, exc: Exception) -> Response:
        status, body = failure(exc)
        return JSONResponse(body, status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "Unknown path: see GET /v1/models and POST /v1/chat/completions",
                    405: "Method not allowed on this path"}
        return JSONResponse(error_body(messages.get(exc.status_code, "The request failed"), "invalid_request_error",
                                       code=str(exc.status_code)), exc.status_code)

    async def crash(request: Request, exc: Exception) -> Response:
        status, body = failure(exc)
        return JSONResponse(body, status)

    routes = [
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model:path}", api.model_card, methods=["GET"]),
        Route("/v1/chat/completions", api.chat, methods=["POST"]),
        Route("/article/{doc_id:path}", api.article, methods=["GET"]),
        Route("/health", api.health, methods=["GET"]),
    ]
    middleware = [] if settings.api_key else [Middleware(LoopbackHosts)]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={BadRequest: bad_request, HTTPException: http_error, Exception: crash})


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, service: ChatService | None = None) -> None:
    """Start ``rag serve``; the key rule is checked before any model loads, then the models load and warm up."""
    require_key_beyond_loopback(host, settings.api_key)
    import uvicorn

    from ui.service import started_service

    service = started_service(settings, service, log)
    app = build_app(service, settings)
    print(f"rag serve: OpenAI-compatible API on http://{host}:{port}/v1, model {MODEL!r}", file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
