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
    answer, judge and relevance prompts alternate) is evaluated once and then
    restored instead of recomputed. It keeps one state per system prompt (see
    ``PrefixSlots``), so memory stays flat however many questions are asked.
    """

    def __init__(self, path: Path, threads: int = 2, n_ctx: int = 2048, seed: int = 0,
                 cache_slots: int = 4) -> None:
        self.path = path
        self.cache_slots = cache_slots
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
            llm.set_cache(prefix_cache(LlamaRAMCache, self.cache_slots))
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


PREFIX_TOKENS = 48


class PrefixSlots:
    """Which cached KV states to keep: the newest one per prompt prefix, at most ``slots`` prefixes.

    llama-cpp-python saves a state after every completion, keyed by its whole
    prompt, and its RAM cache bounds them by KV bytes only while each state
    also holds a copy of the logits: in a 50-question eval the process grew
    past 20 GB. Any state that starts with the same system prompt serves the
    next prompt equally well, so one per prefix is enough. Of the logits only
    the last row is kept (hundreds of MB per state otherwise); loading a
    state broadcasts it, and only the last row is ever read.
    """

    def __init__(self, slots: int = 4, prefix_tokens: int = PREFIX_TOKENS) -> None:
        self.slots = slots
        self.prefix_tokens = prefix_tokens

    def evict(self, keys: list[tuple[int, ...]], new: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Keys (oldest first) to drop now that ``new`` is stored."""
        head = new[: self.prefix_tokens]
        drop = [k for k in keys if k != new and k[: self.prefix_tokens] == head]
        rest = [k for k in keys if k not in drop]
        return drop + rest[: max(0, len(rest) - self.slots)]


def prefix_cache(base: type, slots: int) -> Any:
    """A ``LlamaRAMCache`` subclass instance that evicts by ``PrefixSlots`` instead of by byte count."""
    policy = PrefixSlots(slots)

    class PrefixCache(base):  # type: ignore[valid-type, misc]
        def __setitem__(self, key: Sequence[int], value: Any) -> None:
            key = tuple(key)
            if getattr(value, "scores", None) is not None and len(value.scores) > 1:
                value.scores = value.scores[-1:].copy()
            self.cache_state.pop(key, None)
            self.cache_state[key] = value
            for old in policy.evict(list(self.cache_state), key):
                del self.cache_state[old]

    return PrefixCache(capacity_bytes=1 << 40)
