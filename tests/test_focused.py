"""The focused read: stopped once its reply has settled whether it agrees, and remembered."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag.focused import FocusedReader, agrees, decided
from rag.generate import Message

QUESTION = "How many trucks were heading to Belarus?"


class WordGenerator:
    """Streams a fixed reply a word at a time and counts the words it was asked for."""

    model_id = "words"
    last_stats = None

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.pieces = 0
        self.calls = 0

    def stream(self, messages: Sequence[Message], max_tokens: int = 200, temperature: float = 0.0) -> Iterator[str]:
        self.calls += 1
        for k, word in enumerate(self.reply.split(" ")):
            self.pieces += 1
            yield word if k == 0 else " " + word


def test_a_read_stops_once_it_agrees_and_gives_the_same_verdict() -> None:
    reply = "According to the source, up to 40 trucks of the Russian National Guard were heading to Belarus on Sunday."
    claim = "Up to 40 trucks were heading to Belarus."
    gen = WordGenerator(reply)
    got = FocusedReader(gen)(QUESTION, "source", "en", decided(claim, QUESTION))
    assert agrees(claim, got, QUESTION) == agrees(claim, reply, QUESTION) is True
    assert gen.pieces < len(reply.split(" ")) // 2, "the rest of the reply was not generated"
    assert got == "According to the source, up to 40", "cut at a whole word"


def test_a_number_is_read_whole_before_it_counts() -> None:
    gen = WordGenerator("There were 40,000 trucks.")
    got = FocusedReader(gen)(QUESTION, "source", "en", decided("There were 40 trucks.", QUESTION))
    assert not agrees("There were 40 trucks.", got, QUESTION), "40 of 40,000 did not stop the read"


def test_a_read_stops_when_it_says_it_does_not_know() -> None:
    gen = WordGenerator("I don't know the answer to this question because the source only talks about protests.")
    got = FocusedReader(gen)(QUESTION, "source", "en", decided("Up to 40 trucks.", QUESTION))
    assert not agrees("Up to 40 trucks.", got, QUESTION) and gen.pieces <= 4


def test_a_disagreeing_read_runs_to_its_end_and_is_remembered_whole() -> None:
    reply = "The source says that 12 trucks were heading to Belarus."
    gen = WordGenerator(reply)
    reader = FocusedReader(gen)
    assert reader(QUESTION, "source", "en", decided("Up to 40 trucks.", QUESTION)) == reply
    assert reader(QUESTION, "source", "en", decided("12 trucks.", QUESTION)) == reply and gen.calls == 1


def test_a_cut_reply_is_read_again_for_a_claim_it_does_not_settle() -> None:
    reply = "Up to 40 trucks and 12 buses were heading to Belarus."
    gen = WordGenerator(reply)
    reader = FocusedReader(gen)
    assert reader(QUESTION, "source", "en", decided("40 trucks.", QUESTION)).endswith("40")
    assert reader(QUESTION, "source", "en", decided("40 trucks.", QUESTION)).endswith("40") and gen.calls == 1
    assert agrees("12 buses.", reader(QUESTION, "source", "en", decided("12 buses.", QUESTION)), QUESTION)
    assert gen.calls == 2
    assert reader(QUESTION, "source", "en") == reply, "without a condition the reply is whole"
