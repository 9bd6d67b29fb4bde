"""An answer sentence must say something its question does not: a restated question answers nothing."""

from __future__ import annotations

from rag.checks import Claim, Context, Grounding, check
from rag.textnorm import tokens

_STEM = 3
"""Shortest word that counts as the start of a longer one ("pick", folded "pik", and "picked")."""
_ENDING = 3
"""Longest ending by which the two may differ: "picked", not "Bundespräsidentenwahl" for "Bundespräsident"."""


def new_words(text: str, question: str) -> set[str]:
    """The search tokens of ``text`` (folded words less function words, and numbers) its question lacks.

    A token counts as the question's when one of the two starts with the other, the shorter has at
    least ``_STEM`` letters and the longer at most ``_ENDING`` more: endings the light stem of
    ``rag.textnorm`` leaves on ("picked").
    """
    asked = set(tokens(question))
    out = set()
    for t in tokens(text):
        if any(same_word(t, q) for q in asked):
            continue
        out.add(t)
    return out


def same_word(a: str, b: str) -> bool:
    """Whether two folded tokens are one word, maybe with another ending ("pik", "piked")."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= _STEM and len(long) - len(short) <= _ENDING and long.startswith(short)


@check("adds_to_question", "sentence")
def adds_to_question(claim: Claim, grounding: Grounding, ctx: Context) -> bool:
    """False when every word of the sentence stands in the question.

    The small model sometimes answers by restating its question: "The police picked up the
    25-year-old woman ... in the Favoriten district of Vienna" to "in which area of Vienna did police
    pick up the 25-year-old woman ... in the Favoriten district?", and "Peter Kaiser wird Kärntens
    Landeshauptmann Peter Kaiser ... wählen" to "Wen wird Kärntens Landeshauptmann Peter Kaiser ...
    wählen?" (GNAD dev set, session 18). The judge said yes to both (the source does state what
    they repeat), and fact_kind reads only who, how many and when. Cheap: no model call.
    """
    return bool(new_words(claim.text, ctx.question))
