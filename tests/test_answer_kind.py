"""Which sentences a question prefers as evidence."""

from __future__ import annotations

from rag.answer_kind import preferred

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
