"""Rejoin a number the model split at its thousands separator."""

from __future__ import annotations

from rag.checks import Context, check
from rag.citations import DraftSentence, join_split_numbers


@check("split_numbers", "draft")
def split_numbers(draft: DraftSentence, ctx: Context) -> DraftSentence:
    """"10, 000 objects" -> "10,000 objects", when the joined number stands in a source.

    The 1.5B model writes "10, 000" and "6, 500 euros" (GNAD dev set, session 15); read as two
    numbers, neither stands in the source and a right answer is refused.
    """
    return join_split_numbers(draft, ctx.evidence)
