"""The quantity rule: "how many?" is not answered by a sentence without a number."""

from __future__ import annotations

from rag.quantity import asks_quantity, gives_quantity, states_amount, states_quantity, without_amounts


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


def test_an_amount_is_a_quantity_that_is_not_a_date() -> None:
    assert states_amount("Es gab mehr als 30 000 Festnahmen.")
    assert states_amount("Der 65-Jährige regiert seit 26 Jahren.")
    assert states_amount("Sechs Monate nach Beginn der Proteste")
    assert not states_amount("Seit der Wahl am 9. August steckt Belarus in einer Krise.")
    assert not states_amount("On August 9, 2020 the election was held.")
    assert states_amount("Am 9. August stimmten 80,1 Prozent für ihn.")


def test_without_amounts_masks_digits_and_number_words_only() -> None:
    assert without_amounts("Lukashenko is 65 years old.") == without_amounts("Lukashenko is 66 years old.")
    assert without_amounts("80,1 percent of 1.200 votes, six months") == "N percent of N votes, N months"
    assert without_amounts("Er ist sechs Jahre alt") == "Er ist N Jahre alt"
