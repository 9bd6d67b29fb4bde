"""The local model reads the quote: does this source give this answer to this question?"""

from __future__ import annotations

import dataclasses

from rag.checks import Claim, Context, Grounding, check
from rag.types import Evidence


@check("answer_judge", "sentence")
def answer_judge(claim: Claim, grounding: Grounding, ctx: Context) -> bool:
    """Yes/no from ``rag.judge.LlmAnswerJudge`` on the quote after the sentence before it.

    The rules see numbers and names, not what is said of them: "the diameter is 2011" grounds in a
    sentence that states 2011 as a year.
    """
    if ctx.judge is None or grounding.evidence is None or grounding.quote is None:
        return True
    parts = [judged_text(dataclasses.replace(e, sentence=quote)) for e, quote in grounding.quotes()]
    return ctx.judge(ctx.question, claim.text, " ... ".join(parts))


def judged_text(e: Evidence) -> str:
    """What the judge reads for a quote: the quoted sentence, after the one before it.

    The quote is what the reader checks, so it, not the whole passage, must carry the answer;
    the sentence before resolves its pronouns ("Das kündigte Lawrow an").
    """
    sents = e.passage.sentences
    i = next((k for k, s in enumerate(sents) if s.start == e.sentence.start), 0)
    before = sents[i - 1].text + " " if i > 0 else ""
    return before + e.sentence.text
