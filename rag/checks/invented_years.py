"""Drop a year the model added to a date that no source dates."""

from __future__ import annotations

from rag.checks import Context, check
from rag.citations import DraftSentence, drop_invented_years


@check("invented_years", "draft")
def invented_years(draft: DraftSentence, ctx: Context) -> DraftSentence:
    """"February 18, 2019" -> "February 18" when no source states 2019.

    German reports say "am 18. Februar" and the model likes to add a year; the date is right, the
    year is invented, so the year goes and the sentence stays.
    """
    return drop_invented_years(draft, ctx.evidence, ctx.question)
