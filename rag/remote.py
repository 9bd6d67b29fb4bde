"""A ``Generator`` on any OpenAI-compatible chat server: llama.cpp's, vLLM, Ollama, a load balancer.

Chosen by ``rag.factory.build_generator`` when ``RAG_LLM_URL`` is set. Every generation of the
pipeline goes through ``Generator.stream`` (the draft, the answer judge, the relevance judge, the
follow-up rewrite, the app's translation), so every one of them reaches the server. Several
servers behind one URL is how generation scales past one machine; the checks stay here.

Only the standard request fields are sent (``model``, ``messages``, ``max_tokens``,
``temperature``, ``seed``, ``stream``, ``stream_options``), plus ``RAG_LLM_EXTRA``. The local
generator applies no repeat penalty; llama-cpp-python's server applies 1.1 unless told
otherwise, which changes greedy answers, so point it at that server with
``RAG_LLM_EXTRA='{"repeat_penalty": 1.0}'``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from rag.errors import InputError, ModelError, printable
from rag.generate import GenerationStats, Message

CONNECT_TIMEOUT_S = 10.0


def endpoints(url: str) -> tuple[str, str]:
    """The base URL (``…/v1``) and the chat-completions URL for ``RAG_LLM_URL``.

    ``http://host:8080/v1`` and ``http://host:8080/v1/chat/completions`` name the same server;
    a bare ``http://host:8080`` means its ``/v1``.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"RAG_LLM_URL must be an http(s) URL such as http://127.0.0.1:8080/v1, not {printable(url)!r}")
    base = url.rstrip("/")
    if base.endswith("/chat/completions"):
        base = base[: -len("/chat/completions")]
    elif not parts.path.strip("/"):
        base += "/v1"
    return base, base + "/chat/completions"


def parse_extra(text: str) -> dict[str, Any]:
    """``RAG_LLM_EXTRA``: a JSON object of request fields, or nothing."""
    if not (text or "").strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InputError('RAG_LLM_EXTRA must be a JSON object, e.g. {"repeat_penalty": 1.0}')
    return value


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` of each server-sent event (lines joined by newlines); comments and other fields skipped."""
    data: list[str] = []
    for line in lines:
        line = line.rstrip("\r")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


class RemoteGenerator:
    """Streams chat completions from an OpenAI-compatible server (``POST …/chat/completions``, SSE).

    The HTTP client is made on first use and keeps its connections, so the judge's many short
    calls do not each open one. Closing a stream early closes its connection, which a server such
    as llama.cpp's takes as the signal to stop generating.
    """

    def __init__(self, url: str, model: str = "", key: str = "", extra: dict[str, Any] | None = None,
                 seed: int | None = 0, timeout_s: float = 300.0) -> None:
        self.base, self.endpoint = endpoints(url)
        self._model = model.strip()
        self.key = key
        self.extra = dict(extra or {})
        self.seed = seed
        self.timeout_s = timeout_s
        self._client: Any = None
        self._lock = threading.Lock()
        self._stats: GenerationStats | None = None

    @property
    def model_id(self) -> str:
        return f"{self._model or 'default model'} at {self.base}"

    @property
    def last_stats(self) -> GenerationStats | None:
        return self._stats

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx

                headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
                self._client = httpx.Client(headers=headers,
                                            timeout=httpx.Timeout(self.timeout_s, connect=CONNECT_TIMEOUT_S))
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def model(self) -> str:
        """``RAG_LLM_MODEL``, else the first model the server lists (asked once)."""
        if not self._model:
            data = self._call("GET", self.base + "/models")
            models = data.get("data") if isinstance(data, dict) else None
            first = models[0] if isinstance(models, list) and models and isinstance(models[0], dict) else {}
            if not isinstance(first.get("id"), str) or not first["id"]:
                raise ModelError(f"the LLM server at {self.base} lists no model; set RAG_LLM_MODEL")
            self._model = first["id"]
        return self._model

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        sent = [{"role": m["role"], "content": m["content"]} for m in messages]  # no key a server might refuse
        body: dict[str, Any] = {"model": self.model(), "messages": sent,
                                "temperature": temperature, "stream": True,
                                "stream_options": {"include_usage": True}}
        if max_tokens > 0:  # 0: as long as the model's context allows, as for the local model
            body["max_tokens"] = max_tokens
        if self.seed is not None:
            body["seed"] = self.seed
        body.update(self.extra)
        self._stats = None
        first = last = 0.0
        pieces = 0
        usage: dict[str, Any] | None = None
        with transport_errors(self.base), self.client.stream("POST", self.endpoint, json=body) as response:
            if response.status_code != 200:
                response.read()
                raise ModelError(self._http_error(response))
            for data in sse_data(response.iter_lines()):
                if data.strip() == "[DONE]":
                    break
                chunk = self._json(data)
                if chunk.get("error"):
                    raise ModelError(f"the LLM server at {self.base} failed: {_message(chunk)}")
                if isinstance(chunk.get("usage"), dict):
                    usage = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    piece = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(piece, str) and piece:
                        last = time.perf_counter()
                        first = first or last
                        pieces += 1
                        yield piece
        if usage is not None:
            self._stats = GenerationStats(int(usage.get("prompt_tokens") or 0),
                                          int(usage.get("completion_tokens") or pieces), last - first)

    def _call(self, method: str, url: str) -> Any:
        with transport_errors(self.base):
            response = self.client.request(method, url)
            if response.status_code != 200:
                raise ModelError(self._http_error(response))
            return self._json(response.text)

    def _json(self, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ModelError(f"the LLM server at {self.base} sent something that is not JSON") from None

    def _http_error(self, response: Any) -> str:
        if response.status_code in (401, 403):
            return f"the LLM server at {self.base} refused the request (HTTP {response.status_code}); check RAG_LLM_KEY"
        try:
            detail = _message(response.json())
        except (ValueError, AttributeError):
            detail = response.text
        detail = printable(detail).strip()[:300]
        return f"the LLM server at {self.base} answered HTTP {response.status_code}" + (f": {detail}" if detail else "")


@contextlib.contextmanager
def transport_errors(base: str) -> Iterator[None]:
    """The HTTP client's failures (refused, reset, timed out) as one-line ``ModelError``s."""
    import httpx

    try:
        yield
    except httpx.TimeoutException:
        raise ModelError(f"the LLM server at {base} did not answer in time") from None
    except httpx.TransportError as exc:
        raise ModelError(f"cannot reach the LLM server at {base} ({type(exc).__name__}); "
                         "is it running? (RAG_LLM_URL)") from None


def _message(data: Any) -> str:
    """The message of an OpenAI-shaped error object (``{"error": {"message": …}}``), or the object."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return printable(error["message"])[:300]
    if isinstance(error, str):
        return printable(error)[:300]
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        return printable(data["detail"])[:300]
    return printable(json.dumps(data))[:300]
