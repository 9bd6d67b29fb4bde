"""The local model reads the quote: does this source give this answer to this question?"""

from __future__ import annotations

from rag.checks import Claim, Context, Grounding, check
from rag.types import Passage, Sentence


@check("answer_judge", "sentence", default=False)
def answer_judge(claim: Claim, grounding: Grounding, ctx: Context) -> bool:
    """Yes/no from ``rag.judge.LlmAnswerJudge`` on the quote after the sentence before it.

    The rules see numbers and names, not what is said of them: "the diameter is 2011" grounds in a
    sentence that states 2011 as a year. Off unless ``RAG_CHECKS=+answer_judge`` since session 19:
    beside ``focused_read`` it lowered correctness on all four sets (seeds-tune 0.571 -> 0.476,
    seeds-gate 0.682 -> 0.636, GNAD 0.691 -> 0.673, XQuAD 0.42 -> 0.40), lowered answered-wrong on
    two (seeds-tune 0.125 -> 0.083, XQuAD 0.32 -> 0.29) and put the checked answer over its time
    budget (GNAD p50 / p95 5.6 / 10.8 s).
    """
    if ctx.judge is None or grounding.evidence is None or grounding.quote is None:
        return True
    return ctx.judge(ctx.question, claim.text, quoted_source(grounding))


def quoted_source(grounding: Grounding) -> str:
    """What a model check reads of a grounding: each quote after the sentence before it, joined."""
    return " ... ".join(judged_text(e.passage, quote) for e, quote in grounding.quotes())


def judged_text(passage: Passage, quote: Sentence) -> str:
    """What the judge reads for a quote: the quoted sentence, after the one before it.

    The quote is what the reader checks, so it, not the whole passage, must carry the answer;
    the sentence before resolves its pronouns ("Das kündigte Lawrow an").
    """
    sents = passage.sentences
    i = next((k for k, s in enumerate(sents) if s.start == quote.start), 0)
    before = sents[i - 1].text + " " if i > 0 else ""
    return before + quote.text
