"""What the chat app does, without gradio: one warm assistant, the corpus, translation.

The Gradio layer (``ui.app``) only lays out components and calls these
methods, so this part is tested with fakes and shared by the API endpoint.
"""

from __future__ import annotations

import logging
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from embeddings.embedder import Embedder
from rag.backend import IndexStore
from rag.errors import InputError, ModelMissingError, RagError
from rag.generate import GenerationStats, Generator, Message, YesNoScorer
from rag.ingest import Ingestor, IngestReport
from rag.language import LANGUAGE_NAMES
from rag.pipeline import Assistant, Event
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.types import Document, Turn

Progress = Callable[[int, int], None]
T = TypeVar("T")


class RequestTimeout(RagError):
    """An answer ran past the app's time limit (``RAG_UI_TIMEOUT_S``) and was stopped."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"no answer within {limit_s:g} s, so it was stopped (time limit RAG_UI_TIMEOUT_S); "
                         "please ask again")
        self.limit_s = limit_s


class _Stopped(Exception):
    """The caller went away (stream closed or abandoned): stop work at the next token."""


class Ticket:
    """One request's deadline and cancel flag, checked between model tokens.

    Waiting for the model (behind a request that is still stopping) may take up
    to one more limit; the limit itself counts from when the model is free.
    """

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.deadline = time.monotonic() + 2 * limit_s
        self._stop = threading.Event()

    def start(self) -> None:
        """The model is ours: the time limit runs from now."""
        self.deadline = time.monotonic() + self.limit_s

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def cancel(self) -> None:
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def check(self) -> None:
        if self._stop.is_set():
            raise _Stopped
        if time.monotonic() > self.deadline:
            raise RequestTimeout(self.limit_s)


class GuardedGenerator:
    """Wraps the chat model so every call (answer, judges, rewrite, translation) obeys the current ticket.

    Before each text piece the ticket is checked; a cancelled or late request
    stops there and the model's own stream is closed, so it releases the model
    within one token (or one prompt evaluation) instead of finishing the answer.
    It passes on the model's P(yes) (``YesNoScorer``), so the answer judge's
    threshold (``RAG_JUDGE_THRESHOLD``) holds in the app as in ``rag ask``.
    """

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.ticket: Ticket | None = None

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def last_stats(self) -> GenerationStats | None:
        return self.inner.last_stats

    def _check(self) -> None:
        if self.ticket is not None:
            self.ticket.check()

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        self._check()
        pieces = self.inner.stream(messages, max_tokens, temperature)
        try:
            for piece in pieces:
                self._check()
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def yes_probability(self, messages: Sequence[Message]) -> float:
        """The model's P(yes) for a judge prompt (one prompt evaluation, checked before and after),
        or 1.0/0.0 from a greedy reply when the model cannot tell."""
        self._check()
        if isinstance(self.inner, YesNoScorer):
            p = self.inner.yes_probability(messages)
            self._check()
            return p
        reply = "".join(self.stream(messages, max_tokens=3, temperature=0.0)).strip().lower()
        return 1.0 if reply.startswith(("yes", "ja")) else 0.0


_END = object()


@dataclass(frozen=True)
class DocRow:
    doc_id: str
    title: str
    date: str
    source: str
    passages: int


class ChatService:
    """Holds the models and the index for the app's lifetime; the model answers one request at a time.

    Model work runs in a worker thread that holds ``lock`` and hands its events
    to the caller through a queue, so the lock is never held across a yield to a
    client: a caller that closes its stream, stops reading or runs past
    ``settings.ui_timeout_s`` cancels its ticket, and the worker stops at the
    next model token and releases the lock (``try``/``finally``). Requests wait
    for the lock in the order the app's queue hands them over.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None, generator: Generator | None,
                 build: Callable[[Settings, Embedder, Generator], Assistant], error: str | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._generator = generator
        self._guard: GuardedGenerator | None = None
        self.error = error
        self._build = build
        self._assistant: Assistant | None = None
        self.lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise ModelMissingError(self.error or "no embedding model")
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            raise ModelMissingError(self.error or "no chat model")
        return self._generator

    @generator.setter
    def generator(self, value: Generator) -> None:
        self._generator = value
        if self._guard is not None:
            self._guard.inner = value

    @property
    def guard(self) -> GuardedGenerator:
        """The chat model as the assistant sees it: checked against the current request's ticket."""
        if self._guard is None:
            self._guard = GuardedGenerator(self.generator)
        return self._guard

    @property
    def store(self) -> IndexStore:
        from rag.factory import build_store

        return build_store(self.settings)

    @property
    def library(self) -> Path:
        """Where uploaded articles are kept, so the index can always re-read them."""
        return self.settings.home / "library"

    def _get(self) -> Assistant:
        if self._assistant is None:
            self._assistant = self._build(self.settings, self.embedder, self.guard)
        return self._assistant

    def assistant(self) -> Assistant:
        with self.lock:
            return self._get()

    def documents_by_id(self) -> Mapping[str, Document]:
        """The indexed articles (read-only; safe while an answer streams)."""
        if self._assistant is not None:
            return self._assistant.retriever.snapshot.documents
        return self.store.load().documents

    def _reload(self) -> None:
        if self._assistant is not None:
            self._assistant.retriever = Retriever(self.store.load(), self.embedder)

    def _run(self, work: Callable[[], Iterator[T]], timeout_s: float | None = None) -> Iterator[T]:
        """Run ``work`` in a worker thread holding the model lock; yield what it yields.

        The worker stops at its next model token once this iterator is closed,
        dropped or past the time limit; then (and only then) it releases the lock.
        """
        limit = self.settings.ui_timeout_s if timeout_s is None else timeout_s
        ticket = Ticket(limit)
        items: queue.SimpleQueue[object] = queue.SimpleQueue()

        def worker() -> None:
            try:
                waited_until = time.monotonic() + limit
                while not self.lock.acquire(timeout=0.1):
                    if ticket.cancelled:
                        raise _Stopped
                    if time.monotonic() > waited_until:
                        raise RequestTimeout(limit)
                try:
                    ticket.start()
                    ticket.check()
                    guard = self.guard
                    guard.ticket = ticket
                    produced = work()
                    try:
                        for item in produced:
                            ticket.check()
                            items.put(item)
                    finally:
                        close = getattr(produced, "close", None)
                        if close is not None:
                            close()  # the pipeline's and the model's own finally blocks run now
                        guard.ticket = None
                finally:
                    self.lock.release()
            except _Stopped:
                pass
            except BaseException as exc:  # handed to the caller, who reports it
                items.put(exc)
            finally:
                items.put(_END)

        threading.Thread(target=worker, name="rag-model", daemon=True).start()
        try:
            while True:
                try:
                    item = items.get(timeout=min(ticket.remaining(), 0.5) + 0.05)
                except queue.Empty:
                    if ticket.remaining() > 0:
                        continue
                    raise RequestTimeout(limit) from None
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield cast(T, item)
        finally:
            ticket.cancel()

    def _one(self, work: Callable[[], Iterator[T]]) -> T:
        """The single result of ``work``, once the worker has finished and released the model."""
        results = list(self._run(work))
        assert len(results) == 1
        return results[0]

    def stream(self, question: str, history: Sequence[Turn] = (), passages: int | None = None,
               temperature: float | None = None) -> Iterator[Event]:
        def work() -> Iterator[Event]:
            a = self._get()
            a.answerer.top_k = passages or self.settings.passages
            a.answerer.temperature = self.settings.temperature if temperature is None else temperature
            yield from a.stream(question, history)

        return self._run(work)

    def ask_json(self, question: str) -> dict[str, object]:
        def work() -> Iterator[dict[str, object]]:
            a = self._get()
            a.answerer.top_k = self.settings.passages
            a.answerer.temperature = self.settings.temperature
            yield a.ask(question).to_json()

        return self._one(work)

    def models(self) -> dict[str, str]:
        if self.error:
            return {"error": self.error, "index": str(self.settings.index_path)}
        return {"chat model": self.generator.model_id, "embedder": self.embedder.model_id,
                "index": str(self.settings.index_path), "threads": str(self.settings.threads)}

    def documents(self) -> list[DocRow]:
        if not self.store.exists():
            return []
        snap = self.store.load()
        return [DocRow(d.doc_id, d.title, d.date or "", d.source or "", snap.passage_count(d.doc_id))
                for d in snap.documents.values()]

    def add_files(self, paths: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        """Copy uploads into the library and index them; a broken file is reported, not fatal."""
        if not paths:
            raise InputError("no files to add")
        self.library.mkdir(parents=True, exist_ok=True)
        kept = []
        for p in paths:
            target = self.library / Path(p).name
            shutil.copyfile(p, target)
            kept.append(target)
        with self.lock:
            report = Ingestor(self.store, self.embedder, self.settings.chunk_chars, progress).ingest(kept)
            self._reload()
        return report

    def delete(self, doc_id: str) -> IngestReport:
        if not doc_id:
            raise InputError("choose an article to delete")
        with self.lock:
            report = Ingestor(self.store, self.embedder, self.settings.chunk_chars).ingest([], remove=[doc_id])
            self._reload()
        return report

    def translate(self, text: str, lang: str) -> str:
        """A machine translation by the local model, for checking a German passage."""
        if not text.strip():
            raise InputError("nothing to translate")
        target = LANGUAGE_NAMES.get(lang, "English")
        messages = [
            {"role": "system", "content": f"Translate the user's text into {target}. Reply with the translation only."},
            {"role": "user", "content": text},
        ]

        def work() -> Iterator[str]:
            yield "".join(self.guard.stream(messages, max_tokens=400, temperature=0.0)).strip()

        return self._one(work)


def real_service(settings: Settings) -> ChatService:
    """The app's service on the configured models; they load on first use.

    A missing model does not stop the app: every answer then says what is
    missing and how to fetch it, and the corpus tab still works.
    """
    from rag.factory import build_assistant, build_embedder, build_generator

    def build(s: Settings, e: Embedder, g: Generator) -> Assistant:
        return build_assistant(s, embedder=e, generator=g)

    try:
        return ChatService(settings, build_embedder(settings), build_generator(settings), build)
    except RagError as exc:
        return ChatService(settings, None, None, build, error=str(exc))


def started_service(settings: Settings, service: ChatService | None, log: logging.Logger) -> ChatService:
    """The service a front end (the chat app, ``rag serve``) starts with, its model warmed up.

    A failed warm-up is reported and the front end still starts: the corpus tab works, and each
    answer reports the error itself.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    service = service or real_service(settings)
    if service.error:
        print(f"warning: {service.error}", file=sys.stderr)
        return service
    try:
        service.assistant().warm_up()
    except RagError as exc:
        print(f"warning: {exc}", file=sys.stderr)
    except Exception as exc:
        log.error("warm-up failed", exc_info=exc)
    return service
