"""A few words of German put into English by the generator, for answers that copied them."""

from __future__ import annotations

import functools

from rag.generate import Generator

SYSTEM = "Translate the German words into English. Reply with the English words only."


class PhraseTranslator:
    """``(phrase) -> English``: one short greedy generation, remembered per phrase.

    Called only for German left in an English answer after its own gloss was used (about one
    English answer in sixty), so its second or so of generation is rarely paid.
    """

    def __init__(self, generator: Generator, max_tokens: int = 24, memo: int = 256) -> None:
        self.generator = generator
        self.max_tokens = max_tokens
        self._cached = functools.lru_cache(maxsize=memo)(self._translate)

    def __call__(self, phrase: str) -> str:
        return self._cached(phrase)

    def _translate(self, phrase: str) -> str:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": phrase}]
        reply = "".join(self.generator.stream(messages, max_tokens=self.max_tokens, temperature=0.0))
        lines = reply.strip().splitlines()
        return lines[0].strip().strip("\"'“”„«».") if lines else ""
