"""German month and weekday names in an English answer, in English."""

from __future__ import annotations

import re

from rag.checks import Context, check
from rag.language import CALENDAR_ALIASES, MONTH_NAMES, WEEKDAY_NAMES

_ENGLISH = {de: en for kind in (MONTH_NAMES, WEEKDAY_NAMES) for de, en in zip(kind["de"], kind["en"], strict=True)
            if de != en}
_ENGLISH |= {alias: _ENGLISH[word] for alias, word in CALENDAR_ALIASES.items()}
_WORD = "|".join(sorted(_ENGLISH, key=len, reverse=True))
_LEAD = r"a|on|last|next|this|every|each|until|till|since|by|from|in|of|early|late|mid|before|after|between|and|to|or"
_CALENDAR = re.compile(rf"(?P<pre>\b(?:{_LEAD}) |\d\.? |\(|, )(?P<word>{_WORD})\b|\b(?P<dated>{_WORD})(?= \d)")


@check("calendar_words", "present")
def calendar_words(text: str, ctx: Context) -> str:
    """Put "on Donnerstag", "in März 2021", "14. Oktober" into English, when the answer is in English.

    The model copies the day and month names of its German sources: "Mikhail Mishustin was going
    to visit Belarus on Donnerstag" (seeds, sessions 20 and 21). Unlike other German words these
    have one English word each, so no model is asked. Only a name in a date's place is changed (after
    "on", "in", "since", ..., a day's number, a comma or a bracket, or before a number): "Freitag"
    is also a surname, "Mai" a given name.
    """
    if ctx.lang != "en":
        return text
    return _CALENDAR.sub(lambda m: (m.group("pre") or "") + _ENGLISH[m.group("word") or m.group("dated")], text)
