"""A claim's new names must stand in the passage, spelled alike or as their translation."""

from __future__ import annotations

from rag.checks import Claim, Context, check
from rag.citations import name_in
from rag.types import Passage


@check("names_in_passage", "quote")
def names_in_passage(claim: Claim, passage: Passage, ctx: Context) -> list[int]:
    """All of the passage's sentences if it names every person or place the claim adds, else none.

    Names may stand outside the quote: German news names a person once and then says "er".
    ``Context.translated`` finds "France" written as "Frankreich".
    """
    def named(folded: str, written: str) -> bool:
        return name_in(folded, passage.text) or (ctx.translated is not None and ctx.translated(written, passage.text))

    if all(named(f, w) for f, w in claim.names.items()):
        return list(range(len(passage.sentences)))
    return []
