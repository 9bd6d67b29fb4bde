"""Stand-ins for the two models, for running the benches without weights (``--models fake``).

They measure the app around the models (queueing, memory, data flow), never answer quality:
``HashEmbedder`` gives every text a fixed pseudo-random unit vector of the real embedder's size;
``PacedGenerator`` streams a copied source sentence word by word at a set pace and says yes to
every judge.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence

import numpy as np

from rag.generate import GenerationStats, Message
from rag.judge import ANSWER_SYSTEM, JUDGE_SYSTEM
from rag.rewrite import REWRITE_SYSTEM
from rag.translate import SYSTEM as TRANSLATE_SYSTEM

REAL_DIMENSION = 768
"""EmbeddingGemma-300m's vector size: fake vectors take as much memory as real ones."""


class HashEmbedder:
    """Implements ``Embedder``: a unit vector drawn from a generator seeded by the text's hash."""

    def __init__(self, dimension: int = REAL_DIMENSION, model_id: str = "bench:hash") -> None:
        self._dimension = dimension
        self._model_id = f"{model_id}-{dimension}"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self._dimension), np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
            vec = np.random.default_rng(seed).standard_normal(self._dimension)
            out[i] = vec / np.linalg.norm(vec)
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)


_JUDGES = (JUDGE_SYSTEM, ANSWER_SYSTEM)
_SENTENCE = re.compile(r"\S.*?[.!?](?=\s|$)", re.S)


class PacedGenerator:
    """Implements ``Generator``: answers with the first sentence of the prompt's sources, one word
    every ``token_s`` seconds (a 1.5B model on two cores writes about 8-12 tokens a second);
    judges get "yes" after one token's time, rewrites return the question, a phrase to translate
    comes back as it is (so the foreign-words check keeps the sentence)."""

    def __init__(self, token_s: float = 0.1, max_words: int = 40) -> None:
        self.token_s = token_s
        self.max_words = max_words

    @property
    def model_id(self) -> str:
        return f"bench:paced-{self.token_s:g}s"

    @property
    def last_stats(self) -> GenerationStats | None:
        return None

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
        user = [m["content"] for m in messages if m["role"] == "user"][-1:] or [""]
        if system in _JUDGES:
            time.sleep(self.token_s)
            yield "yes"
            return
        if system == REWRITE_SYSTEM:
            question = user[0].rsplit("Last question: ", 1)[-1].split("\n", 1)[0]
            yield question
            return
        if system == TRANSLATE_SYSTEM:
            yield user[0]
            return
        words = _first_source_sentence(user[0]).split()[:min(self.max_words, max_tokens)]
        for i, word in enumerate(words):
            time.sleep(self.token_s)
            yield word if i == 0 else " " + word


def _first_source_sentence(prompt: str) -> str:
    """The first sentence after the prompt's instructions (its first paragraph), without a ``[n]`` label."""
    body = prompt.split("\n\n", 1)[-1]
    body = body.split("Sources:\n", 1)[-1]
    body = re.sub(r"^\s*\[\d+\]\s*", "", body)
    m = _SENTENCE.search(body)
    return m.group().replace("\n", " ") if m else "NOT IN SOURCES"
