"""OpenAI chat-completions JSON in and out: requests become a question and its history, answers become replies.

No web framework here: ``rag.serve.app`` does the HTTP, this module the shapes.

A reply's text is the checked answer with its ``[n]`` marks. Its citations travel three ways:

- ``citations`` (top level), one per ``[n]``: the article (``doc_id``, ``title``, ``date``, ``source``),
  a ``url`` that opens it at the quote in the app, and the quoted source sentence with its
  character offsets in the article, under the names of Anthropic's ``char_location`` citations
  (``cited_text``, ``document_index``, ``document_title``, ``start_char_index``, ``end_char_index``);
  ``document_index`` numbers the answer's distinct articles from 0 in the order they are first cited;
- ``message.annotations``: OpenAI's ``url_citation`` for each ``[n]`` mark, ``start_index`` and
  ``end_index`` framing the mark in the reply text (as OpenAI frames its inline citations), with the
  article's title and url;
- in a stream, each citation also as an Open WebUI ``citation`` event (a chunk's top-level
  ``event``, which Open WebUI hands to its chat as it would a plugin's), so its source list shows them.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer_text import render
from rag.pipeline import MAX_QUESTION_CHARS
from rag.types import Answer, Citation, Turn

MODEL = "rag-news"
MAX_TURNS = 8
"""Earlier turns kept from a conversation (the pipeline reads the last one; the rest is cheap context)."""

Link = Callable[[Citation], str]
"""The URL that opens a citation's article at its quote."""


class BadRequest(Exception):
    """A request the API refuses, with what the client gets: an HTTP status and an OpenAI error object."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status
        self.kind = kind


def error_body(message: str, kind: str = "invalid_request_error", code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True)
class ChatRequest:
    question: str
    history: tuple[Turn, ...]
    stream: bool
    include_usage: bool


def parse_request(body: Any, model: str = MODEL) -> ChatRequest:
    """The question (the last user message), the earlier user/assistant pairs as turns, and the stream flags.

    System and developer messages are read past: the archive's own prompts decide how it answers.
    Sampling fields (``temperature``, ``max_tokens``, …) are accepted and ignored for the same
    reason; ``n`` other than 1 is refused.
    """
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    asked = body.get("model")
    if asked is not None and not isinstance(asked, str):
        raise BadRequest("model must be a string", "model")
    if asked and asked != model:
        raise BadRequest(f"The model {asked!r} does not exist; this server serves {model!r}", "model",
                         "model_not_found", 404)
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise BadRequest("stream must be true or false", "stream")
    n = body.get("n")
    if n is not None and n != 1:
        raise BadRequest("only n=1 is supported", "n")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise BadRequest("stream_options must be an object", "stream_options")
    include_usage = bool(options and options.get("include_usage") is True)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list", "messages")
    said: list[tuple[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest(f"messages[{i}] must be an object with a role", f"messages[{i}]")
        role = m["role"]
        if role in ("system", "developer"):
            continue
        if role not in ("user", "assistant"):
            raise BadRequest(f"messages[{i}]: role {role!r} is not supported (user, assistant, system)",
                             f"messages[{i}].role")
        said.append((role, _text(m.get("content"), i, role)))
    if not said or said[-1][0] != "user":
        raise BadRequest("the last message must be the user's question", "messages")
    question = said[-1][1].strip()
    if not question:
        raise BadRequest("the question is empty", "messages")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadRequest(f"the question is longer than {MAX_QUESTION_CHARS} characters", "messages")
    return ChatRequest(question, turns(said[:-1])[-MAX_TURNS:], stream, include_usage)


def _text(content: Any, i: int, role: str) -> str:
    """A message's text: a string, or the ``text`` parts of a list (an assistant's ``refusal`` parts skipped)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest(f"messages[{i}].content must be a string or a list of parts", f"messages[{i}].content")
    out = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            out.append(part["text"])
        elif kind == "refusal" and role == "assistant":
            continue
        else:
            raise BadRequest(f"messages[{i}].content: only text parts are supported", f"messages[{i}].content")
    return "\n".join(out)


def turns(said: Sequence[tuple[str, str]]) -> tuple[Turn, ...]:
    """Each user message with the assistant reply that follows it; a question left unanswered is dropped."""
    out: list[Turn] = []
    question: str | None = None
    for role, text in said:
        if role == "user":
            question = text.strip()
        elif question:
            out.append(Turn(question, text.strip()))
            question = None
    return tuple(out)


@dataclass(frozen=True)
class Mark:
    """One ``[n]`` in the reply text, with its offsets."""

    n: int
    start: int
    end: int


def marks(answer: Answer) -> list[Mark]:
    """Where each answer sentence's ``[n]`` marks stand in ``answer.answer``.

    A refusal's marks point at the closest passages it lists (``rag.grounded.closest``).
    Each sentence is rendered alone as ``rag.citations.render`` renders it in the answer (its
    lead, "Reuters, August 2020: ", stands before it) and found after the previous one.
    """
    text = answer.answer
    out: list[Mark] = []
    if answer.refused:
        cited = {c.n for c in answer.citations}
        return [Mark(int(m.group(1)), m.start(), m.end()) for m in re.finditer(r"\[(\d+)\]", text)
                if int(m.group(1)) in cited]
    cursor = 0
    for s in answer.sentences:
        if not s.citations:
            continue
        piece = render([s])
        at = text.find(piece, cursor)
        if at < 0:
            continue
        written = "".join(f"[{n}]" for n in s.citations)
        pos = at + piece.rfind(written)
        for n in s.citations:
            out.append(Mark(n, pos, pos + len(f"[{n}]")))
            pos += len(f"[{n}]")
        cursor = at + len(piece)
    return out


def citations_json(answer: Answer, link: Link) -> list[dict[str, Any]]:
    documents: dict[str, int] = {}
    out = []
    for c in answer.citations:
        index = documents.setdefault(c.doc_id, len(documents))
        located = 0 <= c.quote_start < c.quote_end
        out.append({
            "type": "char_location", "n": c.n, "doc_id": c.doc_id, "title": c.title, "date": c.date,
            "source": c.source, "url": link(c), "cited_text": c.quote, "document_index": index,
            "document_title": c.title, "start_char_index": c.quote_start if located else None,
            "end_char_index": c.quote_end if located else None,
        })
    return out


def annotations_json(answer: Answer, link: Link) -> list[dict[str, Any]]:
    by_n = {c.n: c for c in answer.citations}
    return [{"type": "url_citation",
             "url_citation": {"start_index": m.start, "end_index": m.end, "title": by_n[m.n].title,
                              "url": link(by_n[m.n])}}
            for m in marks(answer) if m.n in by_n]


def webui_event(citation: Citation, url: str) -> dict[str, Any]:
    """An Open WebUI ``citation`` event: the quote as the document, the article as the source."""
    meta = " · ".join(x for x in (citation.date or "", citation.source or "", citation.doc_id) if x)
    return {"type": "citation", "data": {
        "document": [citation.quote],
        "metadata": [{"source": url, "name": f"[{citation.n}] {citation.title}", "url": url, "doc_id": citation.doc_id,
                      "date": citation.date, "description": meta}],
        "source": {"name": f"[{citation.n}] {citation.title}", "url": url},
    }}


def usage_json(answer: Answer) -> dict[str, int]:
    """The draft's token counts, when the generator reported them (judge calls are not counted)."""
    prompt = answer.timings.prompt_tokens or 0
    completion = answer.timings.tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(answer: Answer, link: Link, model: str = MODEL, reply_id: str | None = None,
               created: int | None = None) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    return {
        "id": reply_id or new_id(), "object": "chat.completion", "created": created or int(time.time()),
        "model": model, "system_fingerprint": None,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": answer.answer, "refusal": None,
                                 "annotations": annotations_json(answer, link)}}],
        "usage": usage_json(answer),
        "citations": citations_json(answer, link),
        "refused": answer.refused,
    }


@dataclass(frozen=True)
class ChunkMaker:
    """``chat.completion.chunk`` objects of one streamed reply (one id, one creation time)."""

    reply_id: str
    created: int
    model: str = MODEL

    def chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {"id": self.reply_id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "system_fingerprint": None, "choices": choices, **extra}

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
        return self.chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}], **extra)

    def opening(self) -> dict[str, Any]:
        return self.delta({"role": "assistant", "content": ""})

    def reply(self, answer: Answer, link: Link, include_usage: bool) -> list[dict[str, Any]]:
        """Everything after the opening chunk: the citation events, the text sentence by sentence, the end.

        The last chunk with a choice carries the annotations, the finish reason and the top-level
        ``citations``; with ``include_usage`` a final chunk without choices carries ``usage``, as OpenAI's does.
        """
        out = [self.chunk([], event=webui_event(c, link(c))) for c in answer.citations]
        out += [self.delta({"content": piece}) for piece in pieces(answer)]
        out.append(self.delta({"annotations": annotations_json(answer, link)}, "stop",
                              citations=citations_json(answer, link), refused=answer.refused))
        if include_usage:
            out.append(self.chunk([], usage=usage_json(answer)))
        return out


def pieces(answer: Answer) -> list[str]:
    """The reply text cut after each sentence's marks (one piece for a refusal)."""
    text = answer.answer
    cuts = sorted({m.end for m in marks(answer)} | {0, len(text)})
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if text[a:b]]
