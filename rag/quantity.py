"""Questions that ask for a quantity, and texts that state one.

A small model asked "how many people protested?" sometimes answers with the
sentence next to the right one ("The protests went on on Sunday"): true,
sourced, and no answer at all. ``rag.checks.fact_kind`` refuses such an
answer, and retrieval favours sentences stating an amount for such a question
(``rag.answer_kind``). "How long" is left out: "since the election" answers it
without a number.
"""

from __future__ import annotations

import re

from rag.language import MONTHS, number_word_values
from rag.textnorm import numbers

_ASKS = re.compile(
    r"\b(how (many|much|old|high|large|big)|what (share|percentage|percent|proportion|number)|"
    r"wie ?viele?|wie (hoch|alt|gro(ß|ss))|welchen anteil|wie ?viel prozent)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(
    r"\b(one|" + "|".join(number_word_values()) + "|dozens?|hundreds?|thousands?|millions?|billions?|half|"
    r"dutzend\w*|hundert\w*|tausend\w*|million\w*|milliard\w*|hälfte)\b",
    re.IGNORECASE,
)


_ASKS_SHARE = re.compile(r"\b(what (share|percentage|percent|proportion)|wie ?viel prozent|welchen anteil|"
                         r"by (what|how many) percent\w*|um wie ?viel prozent)\b", re.IGNORECASE)
_STATES_SHARE = re.compile(r"%|\b(percent\w*|per cent|prozent\w*|share|anteil|half|third|quarter|hälfte|drittel|"
                           r"viertel)\b", re.IGNORECASE)


def asks_share(question: str) -> bool:
    """A question whose answer is a share: "what percentage ...?", "wie viel Prozent ...?"."""
    return bool(_ASKS_SHARE.search(question))


def states_share(text: str) -> bool:
    """"80.1 percent", "5,6 %", "die Hälfte"."""
    return bool(_STATES_SHARE.search(text))


def number_words(text: str) -> set[str]:
    """Number words ("forty", "Tausende", "billion"), lower-cased."""
    return {m.group().lower() for m in _WORDS.finditer(text)}


def asks_quantity(question: str) -> bool:
    """A question whose answer is a number: how many, how much, how old, what share ..."""
    return bool(_ASKS.search(question))


def states_quantity(text: str) -> bool:
    """Digits or a number word ("six", "Tausende", "billion"); citation marks like [1] are not numbers."""
    text = re.sub(r"\[\d+\]", " ", text)
    return bool(numbers(text)) or bool(_WORDS.search(text))


_DATES = re.compile(rf"\b(\d{{1,2}}\.?\s*(?:{MONTHS})|(?:{MONTHS})\s+\d{{1,2}}\b|(?:19|20)\d\d\b)")


def states_amount(text: str) -> bool:
    """``states_quantity`` once dates are set aside: "am 9. August" or "2020" counts nothing.

    Used to prefer evidence for a quantity question, where a date is the
    wrong kind of number.
    """
    return states_quantity(_DATES.sub(" ", text))

