"""An answer's text: [n] markers read into sentences, and checked sentences written back with their citations."""

from __future__ import annotations

import pytest

from rag.answer_text import DraftSentence, render, split_answer
from rag.types import AnswerSentence

# ---------------------------------------------------------------- split_answer


@pytest.mark.parametrize(("answer", "expected"), [
    ("He got 80.1 percent [1].", [("He got 80.1 percent.", (1,))]),
    ("He got 80.1 percent [1, 2].", [("He got 80.1 percent.", (1, 2))]),
    ("He got 80.1 percent [1; 2].", [("He got 80.1 percent.", (1, 2))]),
    ("He got 80.1 percent [1][3].", [("He got 80.1 percent.", (1, 3))]),
    ("He got 80.1 percent [1] [3] [1].", [("He got 80.1 percent.", (1, 3))]),
    ("He got 80.1 percent. [2]", [("He got 80.1 percent.", (2,))]),
    ("No marker here.", [("No marker here.", ())]),
    ("Putin promised help [1]. Lukashenko met him in Sochi [2][3].",
     [("Putin promised help.", (1,)), ("Lukashenko met him in Sochi.", (2, 3))]),
    ("Er erhielt 80,1 Prozent [1]. Die Wahl war im August [2].",
     [("Er erhielt 80,1 Prozent.", (1,)), ("Die Wahl war im August.", (2,))]),
])
def test_split_answer(answer: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    assert split_answer(answer) == [DraftSentence(t, c) for t, c in expected]


@pytest.mark.parametrize(("answer", "expected"), [
    ("Gerlach said 10, 000 objects were destroyed.", "Gerlach said 10,000 objects were destroyed."),
    ("Rounded 20, 000 [1].", "Rounded 20,000."),
    ("In 2019, 300 people came.", "In 2019, 300 people came."),
    ("Scores were 1, 2 and 3.", "Scores were 1, 2 and 3."),
    ("It rose from 1.5, 200 times.", "It rose from 1.5, 200 times."),
])
def test_a_space_inside_a_number_is_taken_out(answer: str, expected: str) -> None:
    assert [d.text for d in split_answer(answer)] == [expected]


def test_marker_opening_the_next_line_belongs_to_the_sentence_before() -> None:
    got = split_answer("He met Putin in Sochi.\n[2] He promised help [1].")
    assert got == [DraftSentence("He met Putin in Sochi.", (2,)), DraftSentence("He promised help.", (1,))]


@pytest.mark.parametrize("answer", [
    "He met Putin in Sochi. [2] He promised help [1].",
    "He met Putin in Sochi.[2] He promised help [1].",
])
def test_marker_opening_the_next_sentence_belongs_to_the_sentence_before(answer: str) -> None:
    assert split_answer(answer) == [DraftSentence("He met Putin in Sochi.", (2,)),
                                    DraftSentence("He promised help.", (1,))]


def test_german_date_in_an_answer_is_not_split() -> None:
    got = split_answer("Er erhielt 80,1 Prozent [1]. Die Wahl war am 9. August [2].")
    assert got == [DraftSentence("Er erhielt 80,1 Prozent.", (1,)), DraftSentence("Die Wahl war am 9. August.", (2,))]


def test_repeated_sentences_are_merged_with_their_citations() -> None:
    got = split_answer("Putin promised help [1]. Sochi was the venue [3]. Putin promised help [2].")
    assert got == [DraftSentence("Putin promised help.", (1, 2)), DraftSentence("Sochi was the venue.", (3,))]


def test_marker_only_and_empty_pieces_are_dropped() -> None:
    assert split_answer("") == []
    assert split_answer("[1]") == []
    assert split_answer("Eins [1].\n\n[2]\n\n") == [DraftSentence("Eins.", (1, 2))]


# ---------------------------------------------------------------- render


def test_render() -> None:
    sentences = [
        AnswerSentence("They met in Sochi.", (2,), True),
        AnswerSentence("It was cold", (1, 3), True),
        AnswerSentence("Made up.", (), False),
    ]
    assert render(sentences) == "They met in Sochi [2]. It was cold [1][3] Made up."
    assert render(sentences, leads=["Reuters, August 2020: ", ""]) == \
        "Reuters, August 2020: They met in Sochi [2]. It was cold [1][3] Made up."
