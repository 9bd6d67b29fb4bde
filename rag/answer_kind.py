"""What a sentence that answers a question looks like, for choosing its evidence.

The sentence most like the question is often not the one with the answer:
asked "how many people were detained?", the embedder ranks "the protests go
on" above "30 000 Festnahmen", and the small model answers from the sentences
shown first. Some questions say what their answer looks like: a quantity
question wants an amount, an age question an age.

An age is the sharper signal. German news names a person's age in a sentence
of its own that often leaves the name to the one before ("Der 65-Jährige
regiert das Land seit 26 Jahren"), so for "how old is Lukashenko?" that
sentence ranks far down, outside the best passages. An age question therefore
also searches the corpus's closest sentences outside those passages, and
gives ages a bonus large enough to bring them in; the model and the citation
check then decide whose age it is.

Office questions ("which government leader ...?") were tried the same way,
favouring sentences that name the office; the model then cited the sentence
naming the office instead of the one stating the fact asked about, and lost
as many seeds answers as it gained, so they are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.quantity import asks_quantity, states_amount


@dataclass(frozen=True)
class Preference:
    """Sentences that pass ``test`` gain ``bonus``; ``beyond_hits`` also looks outside the best passages."""

    test: Callable[[str], bool]
    bonus: float
    beyond_hits: bool = False


_ASKS_AGE = re.compile(r"\b(how old|what age|at what age|wie alt|welches alter|in welchem alter)\b", re.IGNORECASE)
_STATES_AGE = re.compile(
    r"\b\d{1,3}[- ]?(jährig\w*|year-old\w*|years? old)\b|\b\d{1,3} jahre alt\b|\baged \d{1,3}\b|"
    r"\bim alter von \d{1,3}\b|\b(alter|age) (von |of )?\d{1,3}\b",
    re.IGNORECASE,
)


def asks_age(question: str) -> bool:
    return bool(_ASKS_AGE.search(question))


def states_age(text: str) -> bool:
    """"Der 65-Jährige", "66 years old", "aged 40", "im Alter von 70"."""
    return bool(_STATES_AGE.search(text))


AGE = Preference(states_age, bonus=0.3, beyond_hits=True)
AMOUNT = Preference(states_amount, bonus=0.05)


def preferred(question: str) -> Preference | None:
    """The kind of sentence ``question`` asks for, or None when it names no kind."""
    if asks_age(question):
        return AGE
    return AMOUNT if asks_quantity(question) else None
