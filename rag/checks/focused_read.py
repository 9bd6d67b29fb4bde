"""The model reads the quote alone, asked the question again: does its reply give the sentence's new facts?"""

from __future__ import annotations

from rag.checks import Claim, Context, Grounding, check
from rag.checks.answer_judge import quoted_source
from rag.focused import agrees
from rag.prompt import says_nothing


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
    reply = ctx.read(ctx.question, quoted_source(grounding), ctx.lang)
    if agrees(claim.text, reply, ctx.question):
        return True
    if not ctx.widen or not says_nothing(reply):
        return False
    return agrees(claim.text, ctx.read(ctx.question, passage_source(grounding), ctx.lang), ctx.question)


def passage_source(grounding: Grounding) -> str:
    """The whole passages of a grounding's quotes, each once: what a widened read sees.

    A question that restates its article's context ("... in the APA/OGM trust index published a week
    before the election") is not answered by a quote that states the fact only ("Lugner liegt mit
    minus 45 Punkten an letzter Stelle"), and the read of the quote says it does not know.
    """
    return " ... ".join(dict.fromkeys(e.passage.text for e, _ in grounding.quotes()))
