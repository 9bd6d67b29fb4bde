"""Reference lines: raw llama.cpp speed for the same GGUF, and the memory-bandwidth bound.

Our figures only mean something next to what the machine can do: generation on
a CPU is bound by reading the whole model once per token, so copy bandwidth
divided by the GGUF size is the ceiling, and raw ``Llama.eval`` with the same
threads is what llama.cpp itself reaches without our pipeline around it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LlamaSpeed:
    prompt_tokens: int
    prompt_s: float
    prompt_tokens_per_s: float
    gen_tokens: int
    gen_s: float
    gen_tokens_per_s: float


def raw_llama_speed(llm: Any, text: str, prompt_tokens: int = 700, gen_tokens: int = 64) -> LlamaSpeed:
    """Prompt processing of ``prompt_tokens`` tokens of ``text`` in one ``eval``, then greedy decoding.

    Decoding picks the argmax of the last token's logits straight from the
    llama.cpp context, so no sampler cost is counted: this is the engine's own
    speed at that context length.
    """
    import llama_cpp

    tokens = llm.tokenize(text.encode("utf-8"), add_bos=True)
    while len(tokens) < prompt_tokens:
        tokens = tokens + tokens[1:]
    tokens = tokens[:prompt_tokens]
    llm.reset()
    started = time.perf_counter()
    llm.eval(tokens)
    prompt_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(gen_tokens):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm.ctx), shape=(llm.n_vocab(),))
        llm.eval([int(np.argmax(logits))])
    gen_s = time.perf_counter() - started
    llm.reset()
    return LlamaSpeed(len(tokens), prompt_s, len(tokens) / prompt_s, gen_tokens, gen_s, gen_tokens / gen_s)


@dataclass(frozen=True)
class Bandwidth:
    bytes_copied: int
    seconds: float
    gb_per_s: float


def copy_bandwidth(gigabytes: float = 1.0, repeats: int = 5) -> Bandwidth:
    """Best-of-``repeats`` numpy copy of a ``gigabytes`` array, counted as read + write bytes (as STREAM does)."""
    n = int(gigabytes * (1 << 30)) // 8
    src = np.ones(n, dtype=np.float64)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    moved = 2 * src.nbytes
    del src, dst
    return Bandwidth(moved, best, moved / best / 1e9)
