"""Rewriting a follow-up to stand alone: what the model is shown, and which replies are taken."""

from __future__ import annotations

from rag.rewrite import LlmRewriter, clean_rewrite
from rag.types import Turn
from tests.fakes import ScriptedGenerator


def test_the_model_sees_the_last_turn_without_citation_marks() -> None:
    gen = ScriptedGenerator(rewrite=lambda q, prev, ans: "What did Jens Stoltenberg warn about?")
    history = [Turn("Who met Putin?", "Lukashenko [2]."), Turn("Who leads NATO?", "Jens Stoltenberg [1][3].")]
    assert LlmRewriter(gen)("What did he warn about?", history) == "What did Jens Stoltenberg warn about?"
    assert gen.rewrite_calls == [("What did he warn about?", "Who leads NATO?", "Jens Stoltenberg.")]


def test_without_history_the_question_is_kept_and_the_model_not_asked() -> None:
    gen = ScriptedGenerator()
    assert LlmRewriter(gen)("Who won?", []) == "Who won?"
    assert gen.rewrite_calls == []


def test_clean_rewrite_takes_a_question_and_refuses_what_is_not_one() -> None:
    q = "Und wann?"
    reply = 'Rewritten question: "Wann trafen sie sich in Sotschi?"'
    assert clean_rewrite(reply, q) == "Wann trafen sie sich in Sotschi?"
    assert clean_rewrite("Wann trafen sie sich?\nSie trafen sich am Montag.", q) == "Wann trafen sie sich?"
    assert clean_rewrite("Sie trafen sich am Montag.", q) is None
    assert clean_rewrite("", q) is None
    assert clean_rewrite("Wann " + "sehr " * 60 + "?", q) is None
