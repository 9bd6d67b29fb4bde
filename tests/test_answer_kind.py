"""Which sentences a question prefers as evidence."""

from __future__ import annotations

import pytest

from rag.answer_kind import DURATION, asks_duration, preferred, states_duration

MISCHUSTIN = "Der russische Regierungschef Michail Mischustin will an diesem Donnerstag das Nachbarland besuchen."
ARRESTS = "Es gab Massenproteste mit mehr als 30 000 Festnahmen."
ELECTION = "Seit der Präsidentenwahl am 9. August steckt Belarus in einer Krise."


def test_a_quantity_question_prefers_an_amount_not_a_date() -> None:
    prefer = preferred("How many people have been detained since the protests began?")
    assert prefer is not None
    assert prefer.test(ARRESTS) and not prefer.test(ELECTION) and not prefer.test(MISCHUSTIN)


def test_other_questions_prefer_nothing() -> None:
    assert preferred("What did Putin promise Lukashenko?") is None
    assert preferred("Wo trafen sich Putin und Lukaschenko?") is None
    assert preferred("Which Russian government leader was due to visit Belarus?") is None


def test_an_age_question_prefers_a_stated_age_and_looks_beyond_the_best_passages() -> None:
    for question in ("How old is Lukashenko?", "Wie alt ist Lukaschenko?", "At what age did he take office?"):
        prefer = preferred(question)
        assert prefer is not None and prefer.beyond_hits and prefer.bonus > 0.05, question
    prefer = preferred("How old is Lukashenko?")
    assert prefer is not None
    for text in ("Der 65-Jährige regiert das Land seit 26 Jahren autoritär.",
                 "Zudem hält er den 66-Jährigen für den Wahlsieger.", "The 66-year-old leader", "He is 66 years old.",
                 "Sie starb im Alter von 70 Jahren.", "aged 40"):
        assert prefer.test(text), text
    for text in (ELECTION, ARRESTS, "Der seit 26 Jahren regierende Lukaschenko", "Jahrelang protestierten sie."):
        assert not prefer.test(text), text


def test_only_age_questions_look_beyond_the_best_passages() -> None:
    prefer = preferred("How many people have been detained?")
    assert prefer is not None and not prefer.beyond_hits


@pytest.mark.parametrize("question, asks", [
    ("How long have the mass protests in Belarus been going on?", True),
    ("Seit wann regiert Lukaschenko?", True),
    ("Wie lange dauern die Proteste schon?", True),
    ("How long is the border with Poland?", False),
    ("How many people protested?", False),
])
def test_asks_duration(question: str, asks: bool) -> None:
    assert asks_duration(question) is asks
    assert (preferred(question) is DURATION) is asks


@pytest.mark.parametrize("text, states", [
    ("Hunderttausende Belarussen gehen seit Wochen auf die Straße.", True),
    ("Die Opposition setzte ihre tagelangen Proteste fort.", True),
    ("Sechs Monate nach Beginn der Massenproteste will er Putin treffen.", True),
    ("He has ruled for 26 years.", True),
    ("Seit der Wahl am 9. August steckt Belarus in einer Krise.", False),
    ("Die Proteste gingen am Sonntag weiter.", False),
])
def test_states_duration(text: str, states: bool) -> None:
    assert states_duration(text) is states

