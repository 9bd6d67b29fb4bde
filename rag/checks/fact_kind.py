"""An answer must add the kind of fact its question asks for: a name for who, a number for how many."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer_kind import expected_fact
from rag.checks import Context, Grounding, check
from rag.quantity import asks_share, number_words, states_share
from rag.textnorm import numbers


@check("fact_kind", "answer")
def fact_kind(groundings: Sequence[Grounding], ctx: Context) -> bool:
    """False when the kept sentences lack the fact kind ``expected_fact`` names for the question.

    "The commercial was directed by Rapid captain Steffen Hofmann" answers "who directed the
    commercial featuring Steffen Hofmann?" with the question's own name: nothing new, so no answer.
    Names are only read in English answers (German capitalises every noun). A share question wants a
    share: "what percentage of the vote did Podemos win?" is not answered by "5,2 million".
    """
    kind = expected_fact(ctx.question)
    if kind is None:
        return True
    facts = [f for g in groundings for f in g.new_facts]
    if kind == "number":
        if asks_share(ctx.question) and not any(states_share(g.text) for g in groundings):
            return False
        return any(numbers(g.text) - numbers(ctx.question) or number_words(g.text) - number_words(ctx.question)
                   for g in groundings)
    if kind == "name":
        return ctx.lang != "en" or any(not any(c.isdigit() for c in f) for f in facts)
    return bool(facts)
