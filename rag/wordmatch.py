"""Names across languages: is "France" in a German text that says "Frankreich"?

The answer checks refuse a sentence that names someone or something no
source names, which is how invented names are caught. Spelling rules
(``rag.names``) catch "Lukashenko"/"Lukaschenko", but an answer translated
from German is full of names that change with the language: "Moscow" is
"Moskau", "Roman" "römisch", "Master" "Meister", "East" "Osten", "Sunday"
"Sonntag". There is no table of such pairs: it would only ever hold the
pairs of the questions it was written for.
On the XQuAD answer sample, 3 of the 11 correct answers that verification
refused were refused for such a name alone.

The multilingual embedder knows these pairs: a word and its translation embed
close together (France/Frankreich 0.94, Master/Meister 0.87, Roman/römisches
0.83, Kremlin/Kreml 0.85), while a name that is not there meets only
unrelated words (Steinmeier/Merkel 0.52, Lavrov/Putin 0.55, Ukraine/Belarus
0.62). It is asked only after the spelling rules failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from rag.language import STOPWORDS

_WORD = re.compile(r"[^\W\d_]{3,}")
TRANSLATION_THRESHOLD = 0.75


class TranslatedNames:
    """``(name, text) -> bool``: some word of ``text`` embeds within ``threshold`` of ``name``.

    Word vectors are cached, so a passage is embedded once however many
    claims are checked against it; the cache is emptied when it reaches
    ``max_words`` (10,000 vectors of 768 floats are 30 MB, inside the app's
    memory budget; 50,000 were 150 MB).
    """

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], threshold: float = TRANSLATION_THRESHOLD,
                 max_words: int = 10_000) -> None:
        self.embed = embed
        self.threshold = threshold
        self.max_words = max_words
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, name: str, text: str) -> bool:
        words = [w for w in dict.fromkeys(_WORD.findall(text)) if w.lower() not in STOPWORDS]
        if not words or not name.strip():
            return False
        return self.best(name, words) >= self.threshold

    def best(self, name: str, words: Sequence[str]) -> float:
        """The highest cosine between ``name`` and any of ``words``."""
        wanted = [w for w in dict.fromkeys([name, *words]) if w not in self._vectors]
        if len(self._vectors) + len(wanted) > self.max_words:
            self._vectors.clear()
            wanted = list(dict.fromkeys([name, *words]))
        if wanted:
            vectors = self.embed(wanted)
            self._vectors.update(zip(wanted, vectors, strict=True))
        matrix = np.stack([self._vectors[w] for w in words])
        return float((matrix @ self._vectors[name]).max())
