"""What a sentence that answers a question looks like, for choosing its evidence.

The sentence most like the question is often not the one with the answer:
asked "how many people were detained?", the embedder ranks "the protests go
on" above "30 000 Festnahmen", and the small model answers from the sentences
shown first. A quantity question says what its answer looks like: an amount.

Office questions ("which government leader ...?") were tried the same way,
favouring sentences that name the office; the model then cited the sentence
naming the office instead of the one stating the fact asked about, and lost
as many seeds answers as it gained, so they are left out.
"""

from __future__ import annotations

from collections.abc import Callable

from rag.quantity import asks_quantity, states_amount


def preferred(question: str) -> Callable[[str], bool] | None:
    """A test for the sentences of the kind ``question`` asks for, or None when it names no kind."""
    return states_amount if asks_quantity(question) else None
