"""Of the sentences a passage offers as the quote, those naming every new name of the claim, where there are any."""

from __future__ import annotations

from rag.checks import Claim, Context, check
from rag.checks.answer_judge import judged_text
from rag.names import name_in
from rag.types import Passage


@check("names_in_quote", "quote", soft=True)
def names_in_quote(claim: Claim, passage: Passage, ctx: Context) -> list[int]:
    """The sentences that, after the sentence before them, name every name the claim adds to its question.

    The focused read sees the quote and the sentence before it, so a name standing elsewhere in the
    passage is a name it cannot give back: GNAD g012's "near the oasis Baharija" and g014's "the US
    magazine Wired" were right drafts refused because retrieval's pick named neither, and the read
    answered "El Gharbiya" and "the article" (tuning side, session 27). A preference, not a rule: where
    no allowed sentence names them all, the quote is chosen as before. Names are read in English
    answers only (``rag.grounded.new_facts``).
    """
    if not claim.names:
        return list(range(len(passage.sentences)))
    return [i for i, s in enumerate(passage.sentences)
            if all(name_in(x, judged_text(passage, s)) for x in claim.names)]
