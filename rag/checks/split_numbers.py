"""Rejoin a number the model split at its thousands separator."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer_text import DraftSentence
from rag.checks import Context, check
from rag.textnorm import numbers
from rag.types import Evidence


@check("split_numbers", "draft")
def split_numbers(draft: DraftSentence, ctx: Context) -> DraftSentence:
    """"10, 000 objects" -> "10,000 objects", when the joined number stands in a source.

    The 1.5B model writes "10, 000" and "6, 500 euros" (GNAD dev set, session 15); read as two
    numbers, neither stands in the source and a right answer is refused.
    """
    return join_split_numbers(draft, ctx.evidence)


def join_split_numbers(draft: DraftSentence, evidence: Sequence[Evidence]) -> DraftSentence:
    """Rejoin "200, 000" as "200,000", only when the joined number stands in a source.

    "August 9, 200 people" stays as it is: 9200 stands in no source, or 200 does.
    """
    known = set().union(*(numbers(e.passage.text) for e in evidence)) if evidence else set()

    def join(m: re.Match[str]) -> str:
        joined = f"{m.group(1)}{m.group(2)}{m.group(3)}"
        return joined if numbers(joined) <= known and not numbers(m.group(3)) <= known else m.group(0)

    text = re.sub(r"(?<![\d.,])(\d{1,3})([.,]) (\d{3})(?![\d])", join, draft.text)
    return draft if text == draft.text else DraftSentence(text, draft.cited)
