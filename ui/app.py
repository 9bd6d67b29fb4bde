"""Gradio chat app: not built yet (see the UI issue)."""

from __future__ import annotations

from rag.errors import RagError
from rag.settings import Settings


def launch(settings: Settings, host: str, port: int) -> None:
    raise RagError("the chat UI is not built yet; use `rag ask`")
