"""The ``Generator`` interface and its llama.cpp implementation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from llama_cpp import Llama

Message = dict[str, str]


class Generator(Protocol):
    """Streams a chat completion as text pieces."""

    @property
    def model_id(self) -> str: ...

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]: ...


class LlamaGenerator:
    """A GGUF chat model via llama-cpp-python, loaded on first use.

    The chat template comes from the GGUF itself. A RAM cache of KV states,
    looked up by longest token prefix, means each fixed system prompt (the
    answer prompt and the judge prompt alternate) is evaluated once and then
    restored instead of recomputed.
    """

    def __init__(self, path: Path, threads: int = 2, n_ctx: int = 2048, seed: int = 0,
                 cache_bytes: int = 1 << 30) -> None:
        self.path = path
        self.cache_bytes = cache_bytes
        self.threads = threads
        self.n_ctx = n_ctx
        self.seed = seed
        self._llm: Llama | None = None

    @property
    def model_id(self) -> str:
        return self.path.name

    @property
    def llm(self) -> Llama:
        if self._llm is None:
            from llama_cpp import Llama, LlamaRAMCache

            llm = Llama(
                model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads,
                n_threads_batch=self.threads, n_batch=512, seed=self.seed, verbose=False,
            )
            llm.set_cache(LlamaRAMCache(capacity_bytes=self.cache_bytes))
            self._llm = llm
        return self._llm

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        chunks = self.llm.create_chat_completion(
            messages=list(messages),  # type: ignore[arg-type]
            max_tokens=max_tokens, temperature=temperature, top_k=1 if temperature == 0 else 40,
            repeat_penalty=1.05, stream=True,
        )
        for chunk in chunks:
            choice: Any = chunk["choices"][0]  # type: ignore[index]
            piece = choice.get("delta", {}).get("content")
            if piece:
                yield str(piece)
