"""A date whose day the question states as another number must stand in the quote as that date."""

from __future__ import annotations

from rag.checks import Claim, Context, check
from rag.textnorm import dates, numbers
from rag.types import Passage


@check("dates_in_quote", "quote", default=False)
def dates_in_quote(claim: Claim, passage: Passage, ctx: Context) -> list[int]:
    """The passage's sentences that name each date of the claim whose day the numbers rule took as given.

    ``numbers_in_quote`` asks a quote for the claim's numbers less the question's, one by one. So the
    day of "released on November 13" was the 13 of "CyanogenMod 13" in the question, the claim added
    no number, and an unanswerable question got a date no article gives (GNAD dev g062, sessions 32
    and 33). A question's number excuses the claim's only in the same role: a date the question
    does not name, whose day it states as some other number, must stand in the quote as a date, day
    and month together ("13. November", "13.11."). Dates with a new day are the numbers rule's.
    Off unless ``RAG_CHECKS=+dates_in_quote``: in the pipeline (``rag eval --ablate``, the same drafts,
    session 34) it refused g062 and nothing else (GNAD dev answered-wrong 0.062 -> 0.046, unanswerable
    refused 0.9 -> 1.0) and changed no answer on seeds-tune or the XQuAD sample; a rule that does not
    help on two sets goes.
    """
    asked = numbers(ctx.question)
    wanted = {d for d in dates(claim.text) - dates(ctx.question) if str(d[0]) in asked}
    if not wanted:
        return list(range(len(passage.sentences)))
    return [i for i, s in enumerate(passage.sentences) if wanted <= dates(s.text)]
