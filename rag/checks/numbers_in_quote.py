"""A claim's new numbers must all stand in one sentence of the passage: that sentence is the quote."""

from __future__ import annotations

from rag.checks import Claim, Context, check
from rag.textnorm import stated_numbers
from rag.types import Passage


@check("numbers_in_quote", "quote")
def numbers_in_quote(claim: Claim, passage: Passage, ctx: Context) -> list[int]:
    """The passage's sentences that state every number the claim adds to its question.

    A number elsewhere in the passage is often another figure ("335 fewer offences" beside "728
    offences"), and the quote is what a reader checks, so it must state the number itself, in digits or
    as a word ("2" stands in "zwei Tore").
    """
    return [i for i, s in enumerate(passage.sentences) if claim.numbers <= stated_numbers(s.text)]
