"""Drop a year the model added to a date that no source dates."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer_text import DraftSentence
from rag.checks import Context, check
from rag.language import MONTHS
from rag.textnorm import numbers
from rag.types import Evidence

_DAY_MONTH = rf"\b(?:(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}\.?\s+(?:{MONTHS}))"


@check("invented_years", "draft")
def invented_years(draft: DraftSentence, ctx: Context) -> DraftSentence:
    """"February 18, 2019" -> "February 18" when no source states 2019.

    German reports say "am 18. Februar" and the model likes to add a year; the date is right, the
    year is invented, so the year goes and the sentence stays.
    """
    return drop_invented_years(draft, ctx.evidence, ctx.question)


def drop_invented_years(draft: DraftSentence, evidence: Sequence[Evidence], question: str) -> DraftSentence:
    """Remove a year that no source (nor the question) states from a date ("August 9, 2021" -> "August 9").

    Only when every number the sources lack is such a year: otherwise the sentence is left for the
    quote checks to refuse.
    """
    known = numbers(question).union(*(numbers(e.passage.text) for e in evidence))
    invented = numbers(draft.text) - known
    if not invented or not all(re.fullmatch(r"(19|20)\d\d", x) for x in invented):
        return draft
    text = draft.text
    for year in invented:
        text = re.sub(rf"({_DAY_MONTH}),?\s+{year}\b", r"\1", text)
    if numbers(text) - known:
        return draft
    return DraftSentence(text, draft.cited)
