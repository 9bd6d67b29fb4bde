"""Language facts: function words of each language, and a question's language told from them."""

from __future__ import annotations

import pytest

from rag.language import FUNCTION_WORDS, SHARED, STOPWORDS, detect_language

DE_QUESTION = "Mit wie viel Prozent der Stimmen wurde Lukaschenko bestätigt?"
EN_QUESTION = "What share of the vote did Lukashenko get?"


@pytest.mark.parametrize(("text", "lang"), [
    (DE_QUESTION, "de"), ("Wie viel Prozent der Stimmen erhielt Lukaschenko?", "de"), ("Wo trafen sie sich?", "de"),
    ("Was hat Putin Lukaschenko versprochen?", "de"), ("Was versteht man unter Kulturimperialismus?", "de"),
    (EN_QUESTION, "en"), ("What did Putin promise Lukashenko?", "en"), ("When did the war in Ukraine begin?", "en"),
    ("Which architect has been commissioned to design Harald Mahrer's proposed 'Haus der Zukunft' on Vienna's "
     "Ringstraße?", "en"), ("Lukaschenko", "en"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_only_function_words_tell_the_language() -> None:
    """Words a question is about ("Prozent", "vote") say nothing of its language; they were once counted."""
    content = {"prozent", "stimmen", "erhielt", "sagte", "viel", "viele", "vote", "share", "promise", "said"}
    assert not content & (FUNCTION_WORDS["de"] | FUNCTION_WORDS["en"])
    assert SHARED <= STOPWORDS and FUNCTION_WORDS["de"] | FUNCTION_WORDS["en"] == STOPWORDS
