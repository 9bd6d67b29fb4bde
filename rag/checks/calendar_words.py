"""German month and weekday names in an English answer, in English."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rag.checks import Context, check
from rag.language import CALENDAR_ALIASES, MONTH_NAMES, WEEKDAY_NAMES


def _english(kind: Mapping[str, Sequence[str]]) -> dict[str, str]:
    pairs = {de: en for de, en in zip(kind["de"], kind["en"], strict=True) if de != en}
    return pairs | {alias: pairs[word] for alias, word in CALENDAR_ALIASES.items() if word in pairs}


_MONTHS, _DAYS = _english(MONTH_NAMES), _english(WEEKDAY_NAMES)
_ENGLISH = _MONTHS | _DAYS
_DAY_LEAD = r"on|last|next|this|every|each|until|till|since|early|late"
_MONTH_LEAD = rf"{_DAY_LEAD}|in|of|by|from|mid|before|after|between|and|to"


def _place(words: dict[str, str], lead: str) -> str:
    """A calendar word after one of ``lead``, a day's number or a bracket, or before a number."""
    alternation = "|".join(sorted(words, key=len, reverse=True))
    return rf"(?:\b(?:{lead}) |\d\.? |\()(?:{alternation})\b|\b(?:{alternation})(?= \d)"


_CALENDAR = re.compile(rf"{_place(_MONTHS, _MONTH_LEAD)}|{_place(_DAYS, _DAY_LEAD)}")
_WORD = re.compile("|".join(sorted(_ENGLISH, key=len, reverse=True)))


@check("calendar_words", "present")
def calendar_words(text: str, ctx: Context) -> str:
    """Put "on Donnerstag", "in März 2021", "14. Oktober" into English, when the answer is in English.

    The model copies the day and month names of its German sources: "Mikhail Mishustin was going
    to visit Belarus on Donnerstag" (seeds, sessions 20 and 21). Unlike other German words these
    have one English word each, so no model is asked. Only a name in a date's place is changed, after
    "on", "since", ... (a month also after "in", "of", "by", "and", ...), a day's number or a bracket,
    or before a number: "Freitag" and "Montag" are also surnames ("a statement by Freitag"), "Mai" a
    given name.
    """
    if ctx.lang != "en":
        return text
    return _CALENDAR.sub(lambda m: _WORD.sub(lambda w: _ENGLISH[w.group()], m.group()), text)
