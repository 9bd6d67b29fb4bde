"""The office rule: an answer to "which X?" must name someone the sources call X."""

from __future__ import annotations

from rag.citations import name_in
from rag.roles import asked_role, holds_role, role_of, surnames
from rag.textnorm import fold

ARTICLE = ("Die tschechische Regierungschefin Eva Novak empfing am Freitag den Präsidenten Karl Weber. "
           "Das kündigte Außenminister Jan Dvorak bei einem Treffen mit seinem slowakischen Kollegen Peter Hanus an. "
           "Ein Sprecher der Regierung, Tomas Blaha, nannte den Besuch wichtig.")


def holds(name: str, role: str) -> bool:
    return holds_role(name_in, fold(name), role, [ARTICLE])


def test_the_office_asked_about_is_the_head_of_the_question() -> None:
    assert asked_role("Which Czech government leader received the president?") == "head of government"
    assert asked_role("Who is the Slovak foreign minister?") == "foreign minister"
    assert asked_role("Wie heißt der tschechische Ministerpräsident?") == "head of government"
    assert asked_role("Which former Czech head of state spoke?") == "head of state"
    assert asked_role("Welcher Sprecher nannte den Besuch wichtig?") == "spokesperson"


def test_an_office_further_on_in_the_question_is_not_asked_about() -> None:
    assert asked_role("Which minister announced the prime minister's trip?") is None
    assert asked_role("When was the presidential election?") is None
    assert asked_role("Who won the election?") is None


def test_the_longest_office_inside_a_compound_wins() -> None:
    assert role_of("Ministerpräsidenten") == "head of government"
    assert role_of("Präsidenten") == "head of state"
    assert role_of("Kremlsprecher") == "spokesperson"
    assert role_of("Wahl") is None


def test_a_holder_stands_next_to_the_office_or_its_colleague() -> None:
    assert holds("Novak", "head of government")
    assert holds("Weber", "head of state")
    assert holds("Dvorak", "foreign minister")
    assert holds("Hanus", "foreign minister")
    assert holds("Blaha", "spokesperson")


def test_someone_the_sources_give_another_office_does_not_hold_it() -> None:
    assert not holds("Weber", "head of government")
    assert not holds("Novak", "foreign minister")
    assert not holds("Blaha", "head of state")
    assert not holds_role(name_in, "novak", "head of government", ["Eva Novak empfing den Gast."])


def test_surnames_are_the_last_words_of_capitalised_runs() -> None:
    assert surnames("The foreign minister, Jan Dvorak, met Czech President Karl Weber's aide.") == [
        "The", "Dvorak", "Weber"]
    assert surnames("The Russian government leader is Alexander Lukaschenko.") == ["Lukaschenko"]
