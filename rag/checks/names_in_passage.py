"""A claim's new names must stand in the passage, spelled alike or as their translation."""

from __future__ import annotations

from rag.checks import Claim, Context, check
from rag.names import name_in
from rag.types import Passage


@check("names_in_passage", "quote")
def names_in_passage(claim: Claim, passage: Passage, ctx: Context) -> list[int]:
    """All of the passage's sentences if it names every person or place the claim adds, else none.

    Names may stand outside the quote: German news names a person once and then says "er".
    ``Context.translated`` finds "France" written as "Frankreich".
    """
    if all(named(f, w, passage.text, ctx) for f, w in claim.names.items()):
        return list(range(len(passage.sentences)))
    return []


def named(folded: str, written: str, text: str, ctx: Context) -> bool:
    """``folded`` spelled alike in ``text`` (``rag.names.name_in``), or ``written`` there as its translation."""
    return name_in(folded, text) or (ctx.translated is not None and ctx.translated(written, text))
