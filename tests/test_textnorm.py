"""Numbers and words must match across German and English spellings."""

from __future__ import annotations

import pytest

from rag.textnorm import dates, fold, normalize_number, numbers, stated_numbers, stem, tokens


def test_decimal_comma_and_point_agree() -> None:
    assert numbers("80,1 Prozent") == numbers("80.1 percent") == {"80.1"}


@pytest.mark.parametrize("raw", ["200.000", "200,000", "200 000", "200\u202f000", "200\u00a0000"])
def test_thousands_separators_agree(raw: str) -> None:
    assert numbers(f"rund {raw} Menschen") == {"200000"}


def test_thousands_and_decimals_are_different_numbers() -> None:
    assert numbers("200.000") != numbers("200.0")
    assert numbers("80,1") != numbers("801")
    assert numbers("30 000 Festnahmen") == {"30000"}


@pytest.mark.parametrize(("raw", "norm"), [
    ("1.117.320.768", "1117320768"), ("12,5", "12.5"), ("2020", "2020"), ("9", "9"), ("26", "26"),
])
def test_normalize_number(raw: str, norm: str) -> None:
    assert normalize_number(raw) == norm


def test_numbers_finds_every_number() -> None:
    text = "Am 9. August 2020 erhielt er 80,1 Prozent; rund 200.000 Menschen protestierten seit 26 Jahren."
    assert numbers(text) == {"9", "2020", "80.1", "200000", "26"}
    assert numbers("keine Zahlen hier") == set()


@pytest.mark.parametrize(("a", "b"), [
    ("Lukaschenko", "Lukashenko"), ("Sotschi", "Sochi"), ("Wladimir", "Vladimir"), ("Medwedew", "Medvedev"),
    ("Tichanowskaja", "Tikhanovskaya"), ("Weißrussland", "Weissrussland"), ("Präsident", "Prasident"),
    ("LUKASCHENKO", "lukashenko"),
])
def test_fold_unifies_spellings(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(("a", "b"), [("Minsk", "Moskau"), ("Putin", "Peskow"), ("Litauen", "Lettland")])
def test_fold_keeps_different_words_apart(a: str, b: str) -> None:
    assert fold(a) != fold(b)


def test_tokens_drop_stopwords_and_normalise() -> None:
    got = tokens("Der Präsident und die Wahl: 80,1 Prozent für Lukaschenko")
    assert "80.1" in got
    assert fold("Lukaschenko") in got
    for stop in ("der", "die", "und", "fur"):
        assert stop not in got
    assert tokens("What share did Lukashenko get in Sochi?") and set(tokens("Lukashenko Sochi")) == set(
        tokens("Lukaschenko Sotschi"))


def test_stem_is_light_and_shared() -> None:
    assert stem("stimmen") == stem("stimme") == "stimm"
    assert stem("putin") == "putin"  # short words are left alone
    assert tokens("Massenproteste")[0] == tokens("Massenprotesten")[0]


def test_a_clock_time_is_one_number_written_either_way() -> None:
    from rag.textnorm import numbers

    assert numbers("recorded at 2:52 AM") == numbers("um 2.52 Uhr") == {"2.52"}
    assert numbers("won 2:1") == {"1", "2"}


@pytest.mark.parametrize(("text", "stated"), [
    ("Two people were on board.", {"2"}),
    ("vier Interceptions", {"4"}),
    ("Zwölf Tore und 3 Karten", {"12", "3"}),
    ("twenty-five years", {"25"}),
    ("forty trucks", {"40"}),
    ("80,1 Prozent", {"80.1"}),
])
def test_stated_numbers_read_number_words_as_their_values(text: str, stated: set[str]) -> None:
    assert stated_numbers(text) == stated


def test_stated_numbers_leave_articles_compounds_and_word_parts_alone() -> None:
    assert stated_numbers("one of the protesters, ein Demonstrant") == set(), "one and ein are also articles"
    assert stated_numbers("fünfundzwanzig") == set(), "a German compound is not read as its last part"
    assert stated_numbers("Ottensen, Achtung, zweimal") == set(), "only whole words"
    assert numbers("Two people") == set(), "the scorer's numbers stay digits only"


@pytest.mark.parametrize(("text", "expected"), [
    ("released on November 13.", {(13, 11)}),
    ("am 13. November 2015", {(13, 11)}),
    ("am 13.11.2015 mit 3.5 Prozent", {(13, 11)}),
    ("On 9 August 2020 and August 10, 2020", {(9, 8), (10, 8)}),
    ("Am 1. Jänner", {(1, 1)}),
    ("it may 5 times be so; 80,1 Prozent; Version 6.0", set()),
    ("Ende November, am 32. Mai", set()),
])
def test_dates_are_read_as_day_and_month_in_any_spelling(text: str, expected: set[tuple[int, int]]) -> None:
    assert dates(text) == expected
