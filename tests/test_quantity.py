"""The quantity rule: "how many?" is not answered by a sentence without a number."""

from __future__ import annotations

from rag.quantity import asks_quantity, gives_quantity, states_quantity


def test_quantity_questions_in_both_languages() -> None:
    for q in ("How many people protested?", "What share of the vote did he get?", "How old is he?",
              "Wie viele Menschen demonstrierten?", "Wieviel Prozent erhielt er?", "Wie hoch war der Kredit?"):
        assert asks_quantity(q), q
    for q in ("Who won?", "How long has he ruled?", "Wo trafen sie sich?", "Why does it matter?"):
        assert not asks_quantity(q), q


def test_digits_and_number_words_state_a_quantity_but_citation_marks_do_not() -> None:
    assert states_quantity("Rund 200.000 Menschen [1].")
    assert states_quantity("Six months [2].") and states_quantity("Tausende protestierten.")
    assert not states_quantity("Die Opposition setzte ihre Proteste fort [1].")


def test_only_a_quantity_question_needs_a_number() -> None:
    assert not gives_quantity("How many people were detained?", "Many trucks were seen [3].")
    assert gives_quantity("How many people were detained?", "More than 30,000 people [3].")
    assert gives_quantity("Who was detained?", "The opposition leader [3].")
