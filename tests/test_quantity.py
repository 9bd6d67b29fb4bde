"""Quantity questions and the texts that answer them: how many, what share, an amount that is not a date."""

from __future__ import annotations

from rag.quantity import asks_quantity, asks_share, number_words, states_amount, states_quantity, states_share


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


def test_an_amount_is_a_quantity_that_is_not_a_date() -> None:
    assert states_amount("Es gab mehr als 30 000 Festnahmen.")
    assert states_amount("Der 65-Jährige regiert seit 26 Jahren.")
    assert states_amount("Sechs Monate nach Beginn der Proteste")
    assert not states_amount("Seit der Wahl am 9. August steckt Belarus in einer Krise.")
    assert not states_amount("On August 9, 2020 the election was held.")
    assert states_amount("Am 9. August stimmten 80,1 Prozent für ihn.")


def test_share_questions_want_a_share_and_number_words_are_read() -> None:
    assert asks_share("What percentage of the vote did Podemos win?") and asks_share("Wie viel Prozent erhielt er?")
    assert not asks_share("How many votes did Podemos win?")
    assert states_share("80.1 percent") and states_share("5,6 %") and states_share("die Hälfte")
    assert not states_share("5.2 million votes")
    assert number_words("Forty people and Tausende more") == {"forty", "tausende"}
