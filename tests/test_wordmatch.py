"""Names recognised under their translation, through injected word vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.answer_text import DraftSentence
from rag.grounded import GroundedChecker
from rag.types import Evidence, Passage, Sentence
from rag.wordmatch import TranslatedNames

VECTORS = {
    "France": [1.0, 0.0, 0.0], "Frankreich": [0.94, 0.34, 0.0],
    "Ribault": [0.0, 1.0, 0.0], "Land": [0.0, 0.0, 1.0], "Jacksonville": [0.0, 0.6, 0.8],
    "Spain": [0.5, -0.5, -0.707], "Steinsäule": [0.0, 0.8, 0.6], "errichtete": [0.5, 0.5, 0.707],
    "heutigen": [0.0, 0.707, 0.707], "Nähe": [0.0, 0.707, 0.707], "Besitz": [0.0, 0.707, 0.707],
    "nehmen": [0.0, 0.707, 0.707], "neu": [0.0, 0.707, 0.707], "entdeckte": [0.0, 0.707, 0.707],
}
TEXT = "Ribault errichtete eine Steinsäule in der Nähe des heutigen Jacksonville, um das neu entdeckte Land für " \
       "Frankreich in Besitz zu nehmen."


class Embed:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, words: Sequence[str]) -> np.ndarray:
        self.asked += list(words)
        rows = [np.array(VECTORS.get(w, [0.0, 0.0, 0.0]), dtype=np.float32) for w in words]
        return np.stack([r / (np.linalg.norm(r) or 1.0) for r in rows])


def test_a_translation_is_found_and_an_unrelated_name_is_not() -> None:
    match = TranslatedNames(Embed(), threshold=0.75)
    assert match("France", TEXT)
    assert not match("Spain", TEXT)
    assert not match("France", "")


def test_words_are_embedded_once_and_stopwords_never() -> None:
    embed = Embed()
    match = TranslatedNames(embed)
    match("France", TEXT)
    match("Spain", TEXT)
    assert len(embed.asked) == len(set(embed.asked))
    assert not {"der", "des", "das", "für", "zu", "um", "in"} & set(embed.asked)


def test_the_cache_is_emptied_when_full() -> None:
    match = TranslatedNames(Embed(), max_words=5)
    assert match("France", "Frankreich Paris")
    assert "Paris" in match._vectors
    assert match("France", TEXT)
    assert "Paris" not in match._vectors and "Frankreich" in match._vectors


def _evidence() -> list[Evidence]:
    sent = Sentence(TEXT, 0, len(TEXT))
    return [Evidence(n=1, passage=Passage(0, "d", 0, TEXT, 0, len(TEXT), (sent,)), sentence=sent, score=0.6,
                     sentence_id=0)]


def _check(claim: str, translated: TranslatedNames | None) -> tuple[bool, str]:
    """Grounded with the passage-name check; the judge, when asked, says yes."""
    checker = GroundedChecker(judge=lambda q, a, source: True, translated=translated)
    question = "For what nation did Ribault claim the land?"
    ev = _evidence()
    [g], _ = checker.check([DraftSentence(claim, (1,))], ev, checker.context(question, "en", ev))
    return g.evidence is not None, g.reason


def test_the_checker_accepts_a_translated_name_only_with_the_matcher() -> None:
    claim = "Ribault claimed the land for France."
    assert _check(claim, None) == (False, "france stands in no source")
    assert _check(claim, TranslatedNames(Embed())) == (True, "")


def test_the_checker_still_refuses_a_name_no_source_has() -> None:
    claim = "Ribault claimed the land for Spain."
    assert _check(claim, TranslatedNames(Embed())) == (False, "spain stands in no source")
