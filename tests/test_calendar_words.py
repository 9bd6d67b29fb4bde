"""German month and weekday names in English answers, put into English without a model."""

from __future__ import annotations

import pytest

from rag.checks import Context, enabled
from rag.checks.calendar_words import calendar_words


@pytest.mark.parametrize(("text", "english"), [
    ("Mishustin was to visit Belarus on Donnerstag [1].", "Mishustin was to visit Belarus on Thursday [1]."),
    ("Protests since Sonntag, until Samstag 12 May.", "Protests since Sunday, until Saturday 12 May."),
    ("It was held in März 2021 and on 14. Oktober [1].", "It was held in March 2021 and on 14. October [1]."),
    ("The Jänner 2015 report (Sonnabend)", "The January 2015 report (Saturday)"),
    ("between März and Mai", "between March and May"),
    ("every Montag and on Mittwoch", "every Monday and on Wednesday"),
    ("Mai 2020", "May 2020"),
])
def test_a_german_name_in_a_dates_place_is_put_into_english(text: str, english: str) -> None:
    assert calendar_words(text, Context("q", "en", [])) == english


@pytest.mark.parametrize("text", [
    "Mai Thi Nguyen-Kim explained it [1].",
    "Freitag said it in public [1].",
    "The Freitag-Verlag printed it.",
    "It happened on Montagabend.",
    "The vote was on 9 August 2020.",
    "It was a statement by Freitag and Montag [1].",
    "Merkel met Sonntag, the mayor.",
])
def test_names_and_compounds_stay(text: str) -> None:
    assert calendar_words(text, Context("q", "en", [])) == text


def test_a_german_answer_keeps_its_words() -> None:
    assert calendar_words("Er kam am Donnerstag, dem 3. März.", Context("q", "de", [])) == \
        "Er kam am Donnerstag, dem 3. März."


def test_it_is_a_default_check_that_can_be_switched_off() -> None:
    assert "calendar_words" in [c.name for c in enabled()]
    assert "calendar_words" not in [c.name for c in enabled("-calendar_words")]


def test_the_assistant_answers_english_with_the_english_day(make_assistant) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import ScriptedGenerator

    draft = "Mikhail Mishustin was going to visit Belarus on Donnerstag [1]."
    question = "When was Mishustin going to visit Belarus?"
    answer = make_assistant(ScriptedGenerator(draft), llm_judge=False).ask(question)
    kept = make_assistant(ScriptedGenerator(draft), llm_judge=False, checks="-calendar_words").ask(question)
    assert not answer.refused and not kept.refused, (answer.answer, kept.answer)
    assert "on Donnerstag" in kept.answer and "on Thursday" in answer.answer, answer.answer
    assert [c.quote for c in answer.citations] == [c.quote for c in kept.citations], "quotes stay as written"
    assert any("Donnerstag" in c.quote for c in answer.citations)
