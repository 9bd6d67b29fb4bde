"""The answer judge's threshold on P(yes), and the labelled pairs it is calibrated on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag.eval.calibration import Pair, Question, auc, label, table
from rag.generate import Message, YesNoScorer
from rag.judge import LlmAnswerJudge
from tests.fakes import ScriptedGenerator


class FixedScorer(ScriptedGenerator):
    """A generator whose judge replies carry a fixed P(yes)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.scored: list[Sequence[Message]] = []

    def yes_probability(self, messages: Sequence[Message]) -> float:
        self.scored.append(messages)
        return self.p

    def stream(self, messages: Sequence[Message], max_tokens: int = 200, temperature: float = 0.0) -> Iterator[str]:
        raise AssertionError("a scorer is asked for P(yes), not for a reply")


def test_the_judge_says_yes_from_its_threshold_up() -> None:
    assert isinstance(FixedScorer(0.6), YesNoScorer)
    assert LlmAnswerJudge(FixedScorer(0.6), threshold=0.5)("Q?", "A.", "S.")
    assert not LlmAnswerJudge(FixedScorer(0.6), threshold=0.7)("Q?", "A.", "S.")
    judge = LlmAnswerJudge(FixedScorer(0.3), threshold=0.3)
    assert judge("Q?", "A.", "S.") and judge.score("Q?", "A.", "S.") == 0.3


def test_a_verdict_asked_again_is_not_asked_of_the_model_again() -> None:
    scorer = FixedScorer(0.6)
    judge = LlmAnswerJudge(scorer, memo=2)
    for _ in range(3):
        judge("Q?", "A.", "S.")
    assert judge.calls == 1 and len(scorer.scored) == 1
    judge("Q?", "B.", "S.")
    judge("Q?", "C.", "S.")
    judge("Q?", "A.", "S.")
    assert len(scorer.scored) == 4


def test_a_generator_without_scores_falls_back_to_its_greedy_reply() -> None:
    yes = ScriptedGenerator(judge=lambda claim, source: True)
    no = ScriptedGenerator(judge=lambda claim, source: False)
    assert not isinstance(yes, YesNoScorer)
    assert LlmAnswerJudge(yes, threshold=0.9).score("Q?", "A.", "S.") == 1.0
    assert not LlmAnswerJudge(no, threshold=0.1)("Q?", "A.", "S.")


def test_a_pair_is_positive_only_when_answer_and_source_state_the_gold_fact() -> None:
    support = ("Tusk gab ihnen den 18. Februar als Termin.",)
    q = Question("gnad", "g1", "When?", (("18 February", "18. Februar"),), support)
    assert label(q, "The summit was set for 18 February.", "Tusk gab ihnen den 18. Februar als Termin.")
    assert not label(q, "The summit was set for 19 February.", "Tusk gab ihnen den 18. Februar als Termin.")
    assert not label(q, "The summit was set for 18 February.", "Die Briten stimmten im Juni ab.")
    assert label(q, "It was 18 February.", "Ratspräsident Donald Tusk gab ihnen den Termin.") is False
    unanswerable = Question("gnad", "g2", "Who?", (), (), answerable=False)
    assert not label(unanswerable, "Anna Berg.", "Anna Berg kündigte Streiks an.")


def test_the_table_counts_precision_and_recall_per_threshold() -> None:
    pairs = [Pair("x", str(i), "q", "a", "s", p, lab)
             for i, (p, lab) in enumerate([(0.9, True), (0.7, True), (0.6, False), (0.2, True), (0.1, False)])]
    rows = {r["threshold"]: r for r in table(pairs, (0.5, 0.65, 0.95))}
    assert rows[0.5]["yes"] == 0.6
    assert abs(rows[0.5]["precision"] - 2 / 3) < 1e-9 and abs(rows[0.5]["recall"] - 2 / 3) < 1e-9
    assert rows[0.65]["precision"] == 1.0
    assert rows[0.95]["yes"] == 0.0 and rows[0.95]["recall"] == 0.0


def test_auc_is_the_chance_a_positive_outscores_a_negative() -> None:
    def pairs(scored: list[tuple[float, bool]]) -> list[Pair]:
        return [Pair("x", str(i), "q", "a", "s", p, lab) for i, (p, lab) in enumerate(scored)]

    assert auc(pairs([(0.9, True), (0.1, False)])) == 1.0
    assert auc(pairs([(0.1, True), (0.9, False)])) == 0.0
    assert auc(pairs([(0.5, True), (0.5, False), (0.7, True)])) == 0.75
