"""The focused read: stopped as soon as its reply says it does not know, read to its end otherwise."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag.focused import FocusedReader, agrees
from rag.generate import Message

QUESTION = "Who is the NATO secretary general?"


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


def test_a_read_stops_when_it_says_it_does_not_know() -> None:
    gen = WordGenerator("I don't know who that is, because the source only talks about the protests in Minsk.")
    got = FocusedReader(gen)(QUESTION, "source", "en")
    assert got == "I don't know" and gen.pieces <= 4, "the rest of the reply was not generated"
    assert not agrees("The secretary general is Jens Stoltenberg.", got, QUESTION)


def test_a_read_that_agrees_is_read_on() -> None:
    """Stopped at "Donald Trump", this reply agreed with a wrong claim (seeds-tune q11, session 23)."""
    gen = WordGenerator("The NATO secretary general is Donald Trump. I don't know more about him from this source.")
    got = FocusedReader(gen)(QUESTION, "source", "en")
    assert got == "The NATO secretary general is Donald Trump. I don't know", "read past its agreement, to the refusal"
    assert not agrees("The NATO secretary general is Donald Trump.", got, QUESTION)


def test_a_reply_is_read_once_for_every_claim_it_is_compared_with() -> None:
    gen = WordGenerator("Jens Stoltenberg rejected the claims.")
    reader = FocusedReader(gen)
    assert agrees("Jens Stoltenberg.", reader(QUESTION, "source", "en"), QUESTION)
    assert gen.pieces == 5, "a reply that never refuses is read whole"
    assert not agrees("Donald Trump.", reader(QUESTION, "source", "en"), QUESTION)
    assert gen.calls == 1 == reader.calls


def test_a_reply_that_splits_its_own_number_agrees_with_the_mended_claim() -> None:
    """GNAD dev g017: the draft and the read both wrote "10, 000"; the draft was mended, the read was not."""
    question = "How many objects were destroyed when a bomb hit the museum in Dhamar?"
    claim = "10,000 objects were irretrievably destroyed when a bomb hit the museum in Dhamar."
    assert agrees(claim, "10, 000 objects were irretrievably destroyed.", question)
    assert not agrees(claim, "1, 000 objects were irretrievably destroyed.", question)
    assert not agrees(claim, "In 2015, 000 objects were destroyed.", question)
