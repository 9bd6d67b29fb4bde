"""What a sentence that answers a question looks like, for choosing its evidence and checking its answer.

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
gives ages a bonus large enough to bring them in; the model and the answer
checks then decide whose age it is.

A duration gets the age's bonus for the age's reason: asked "how long have
the protests been going on?", the embedder ranks sentences about the protests
that state no duration first, and "seit Wochen" sat outside the best passages.

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


_ASKS_DURATION = re.compile(
    r"\b(how long (has|have|had)|for how long|since when|wie lange|seit wann)\b", re.IGNORECASE)
_UNITS_DE = r"(tage|tagen|wochen?|monate?n?|jahre?n?)"
_UNITS_EN = r"(days?|weeks?|months?|years?)"
_STATES_DURATION = re.compile(
    rf"\bseit (\w+ )?{_UNITS_DE}\b|\b(tage|wochen|monate|jahre)lang\w*|\b\w+ {_UNITS_DE} (nach|lang)\b|"
    rf"\bfor (\w+ )?{_UNITS_EN}\b|\b\w+ {_UNITS_EN} (after|since)\b",
    re.IGNORECASE,
)


def asks_duration(question: str) -> bool:
    """"How long have the protests been going on?", "Seit wann ...?"; not "how long is the border?"."""
    return bool(_ASKS_DURATION.search(question))


def states_duration(text: str) -> bool:
    """"seit Wochen", "tagelangen Protesten", "sechs Monate nach", "for 26 years"."""
    return bool(_STATES_DURATION.search(text))


AGE = Preference(states_age, bonus=0.3, beyond_hits=True)
DURATION = Preference(states_duration, bonus=0.3, beyond_hits=True)
AMOUNT = Preference(states_amount, bonus=0.05)


_ASKS_PERSON = re.compile(r"^\W*(who|whom|whose|wer|wen|wem|wessen)\b|\b(by whom|von wem)\b", re.IGNORECASE)
_ASKS_TIME = re.compile(
    r"\b(when|what date|which date|what time|at what time|which day|on what day|wann|an welchem tag|"
    r"um wie ?viel uhr|zu welcher uhrzeit|welches datum)\b", re.IGNORECASE)


def expected_fact(question: str) -> str | None:
    """The kind of fact an answer must add to ``question``: "number", "name", "time", or None.

    "Who ...?" wants a person's name, "how many ...?" a number, "when ...?" a date or time; an
    answer that only restates the question ("The magazine concluded that ...") adds none of them.
    Questions with "which" or "what" are left open: their answer may be a thing ("a photographer").
    """
    if asks_quantity(question):
        return "number"
    if _ASKS_TIME.search(question):
        return "time"
    if _ASKS_PERSON.search(question):
        return "name"
    return None


def preferred(question: str) -> Preference | None:
    """The kind of sentence ``question`` asks for, or None when it names no kind."""
    if asks_age(question):
        return AGE
    if asks_duration(question):
        return DURATION
    return AMOUNT if asks_quantity(question) else None
