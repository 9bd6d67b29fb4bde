"""What the chat app does, without gradio: one warm assistant, the corpus, translation.

The Gradio layer (``ui.app``) only lays out components and calls these
methods, so this part is tested with fakes and shared by the API endpoint.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from embeddings.embedder import Embedder
from rag.errors import InputError, ModelMissingError, RagError
from rag.generate import Generator
from rag.ingest import Ingestor, IngestReport
from rag.pipeline import Assistant, Event
from rag.prompt import LANGUAGE_NAMES
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.store import Store
from rag.types import Document, Turn

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DocRow:
    doc_id: str
    title: str
    date: str
    source: str
    passages: int


class ChatService:
    """Holds the models and the index for the app's lifetime; one request at a time.

    The lock is a plain ``Lock``, not an ``RLock``: a streaming answer holds it
    across yields, and Gradio may resume the generator on another thread.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None, generator: Generator | None,
                 build: Callable[[Settings, Embedder, Generator], Assistant], error: str | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._generator = generator
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

    @property
    def store(self) -> Store:
        return Store(self.settings.index_path)

    @property
    def library(self) -> Path:
        """Where uploaded articles are kept, so the index can always re-read them."""
        return self.settings.home / "library"

    def _get(self) -> Assistant:
        if self._assistant is None:
            self._assistant = self._build(self.settings, self.embedder, self.generator)
        return self._assistant

    def assistant(self) -> Assistant:
        with self.lock:
            return self._get()

    def documents_by_id(self) -> dict[str, Document]:
        """The indexed articles (read-only; safe while an answer streams)."""
        if self._assistant is not None:
            return self._assistant.retriever.snapshot.documents
        return self.store.load().documents

    def _reload(self) -> None:
        if self._assistant is not None:
            self._assistant.retriever = Retriever(self.store.load(), self.embedder)

    def stream(self, question: str, history: Sequence[Turn] = (), top_k: int | None = None,
               temperature: float | None = None) -> Iterator[Event]:
        with self.lock:
            a = self._get()
            a.top_k = top_k or self.settings.top_k
            a.temperature = self.settings.temperature if temperature is None else temperature
            yield from a.stream(question, history)

    def ask_json(self, question: str) -> dict[str, object]:
        with self.lock:
            return self._get().ask(question).to_json()

    def models(self) -> dict[str, str]:
        if self.error:
            return {"error": self.error, "index": str(self.settings.index_path)}
        return {"chat model": self.generator.model_id, "embedder": self.embedder.model_id,
                "index": str(self.settings.index_path), "threads": str(self.settings.threads)}

    def documents(self) -> list[DocRow]:
        if not self.store.exists():
            return []
        snap = self.store.load()
        counts: dict[str, int] = {}
        for p in snap.passages:
            counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
        return [DocRow(d.doc_id, d.title, d.date or "", d.source or "", counts.get(d.doc_id, 0))
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
        with self.lock:
            return "".join(self.generator.stream(messages, max_tokens=400, temperature=0.0)).strip()


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
