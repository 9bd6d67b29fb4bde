"""German names of countries and cities in an English answer, in English."""

from __future__ import annotations

from rag.checks import Context, check
from rag.language import foreign_places


@check("place_names", "present")
def place_names(text: str, ctx: Context) -> str:
    """Put "Litauen", "Spanien", "Moskau" into English when the answer is in English.

    The model copies its German sources' place names into English answers ("Litauen, Lettland,
    Polen and the Ukraine", "Philip II. von Spanien"): 3 of about 450 answers, drafts and checked,
    in session 36's reports over seeds, GNAD and XQuAD. Like month names, each has one English
    name (CLDR's, ``rag.language.place_names``), so no model is asked and no fact can change. It
    runs after the checks, which compare the sentence as drafted with its German quote.
    """
    for start, end, english in reversed(foreign_places(text, ctx.lang)):
        text = text[:start] + english + text[end:]
    return text
