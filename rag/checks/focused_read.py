"""The model reads the quote alone, asked the question again: does its reply give the sentence's new facts?"""

from __future__ import annotations

from rag.checks import Claim, Context, Grounding, check
from rag.checks.answer_judge import quoted_source
from rag.focused import agrees


@check("focused_read", "sentence")
def focused_read(claim: Claim, grounding: Grounding, ctx: Context) -> bool:
    """False when a second read of the quote (after the sentence before it) does not agree with the sentence.

    The yes/no judge reads an answer it is shown and says yes to much that merely sounds like the
    source (precision 0.585 on 390 labelled calls); a read that must find the answer itself, compared
    by its numbers and words (``rag.focused.agrees``), is wrong less often, and with the judge still
    more rarely. Runs after the judge, so a quote the judge refuses costs no reading.
    """
    if ctx.read is None or grounding.evidence is None or grounding.quote is None:
        return True
    return agrees(claim.text, ctx.read(ctx.question, quoted_source(grounding), ctx.lang), ctx.question)
