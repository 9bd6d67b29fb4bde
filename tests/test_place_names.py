"""German names of countries and cities in English answers, put into English from CLDR."""

from __future__ import annotations

import pytest

from rag.checks import Context, enabled
from rag.checks.place_names import place_names
from rag.language import foreign_places
from rag.language import place_names as names


@pytest.mark.parametrize(("text", "english"), [
    ("Litauen, Lettland, Polen and the Ukraine [1].", "Lithuania, Latvia, Poland and the Ukraine [1]."),
    ("Philip II. von Spanien", "Philip II. von Spain"),
    ("They met in Moskau, not in Wien.", "They met in Moscow, not in Vienna."),
    ("the Vereinigte Staaten and Österreich", "the United States and Austria"),
    ("Mexiko-Stadt, the capital of Mexiko", "Mexico City, the capital of Mexico"),
])
def test_a_german_place_name_is_put_into_english(text: str, english: str) -> None:
    assert place_names(text, Context("q", "en", [])) == english


@pytest.mark.parametrize("text", [
    "The Island of Rügen [1].",
    "It ran on ROM and Rom.",
    "The Moskau-Reise was cancelled.",
    "Polenta and Wiener Schnitzel",
    "Tilo Berlin was sentenced in Minsk [1].",
])
def test_english_words_compounds_and_shared_names_stay(text: str) -> None:
    assert place_names(text, Context("q", "en", [])) == text


def test_a_german_answer_keeps_its_names() -> None:
    assert place_names("Sie reiste nach Litauen aus.", Context("q", "de", [])) == "Sie reiste nach Litauen aus."


def test_the_names_come_from_cldr_not_from_a_list_of_ours() -> None:
    table = names("de", "en")
    assert len(table) > 150, "every country of CLDR with another English name"
    assert table["Neuseeland"] == "New Zealand" and table["Kopenhagen"] == "Copenhagen"
    assert "Island" not in table, "Iceland's German name is an English word"
    assert "Unbekannt" not in table and "Pseudo-Akzente" not in table


def test_the_untranslated_figure_counts_a_german_place_name() -> None:
    from rag.eval import metrics

    assert foreign_places("Lithuania and Polen", "en") == [(14, 19, "Poland")]
    answers = [("en", "Litauen and Latvia [1].", False), ("en", "Lithuania and Latvia [1].", False)]
    assert metrics.untranslated(answers) == 0.5


def test_it_is_a_default_check_that_can_be_switched_off() -> None:
    assert "place_names" in [c.name for c in enabled()]
    assert "place_names" not in [c.name for c in enabled("-place_names")]


def test_the_assistant_answers_english_with_english_names(make_assistant) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import ScriptedGenerator

    draft = "Lukashenko said Litauen, Lettland, Polen and the Ukraine ordered Belarus to hold new elections [1]."
    question = "Which countries did Lukashenko say were ordering Belarus to hold new elections?"
    answer = make_assistant(ScriptedGenerator(draft), llm_judge=False).ask(question)
    kept = make_assistant(ScriptedGenerator(draft), llm_judge=False, checks="-place_names").ask(question)
    assert not answer.refused and not kept.refused, (answer.answer, kept.answer)
    assert "Litauen, Lettland, Polen" in kept.answer, kept.answer
    assert "Lithuania, Latvia, Poland" in answer.answer, answer.answer
    assert [c.quote for c in answer.citations] == [c.quote for c in kept.citations], "quotes stay as written"
