"""What the headline question's answer must be on every CPU, for the real-model tests that ask it.

The 1.5B model's draft moves with the CPU's kernels. On an AMD EPYC (sessions 20-28) it read
"Putin promised Lukashenko that he would provide military assistance if Belarus was in danger" and
passed the focused read; on an Intel Xeon with the same code, models and index (session 29)
"... military support if the situation in Belarus worsened", which the focused read refused, so
the reader got the refusal and the closest passages, which state the promises. Both are safe
outcomes. What no CPU may give is an answer that names no help, a citation that is not a promise,
or a refusal that shows nothing to check. Whether answers carry the gold facts is measured over
sets by the gated eval (on seeds-gate, where this question is q34), not by this one sample.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.prompt import REFUSALS

HELP = re.compile(r"militar|military|help|assist|support|\baid\b|Hilfe", re.I)
"""What Putin promised, in any of the words the three articles' sentences are put into English by the model."""
PROMISE = re.compile(r"sicherte|zugesagt|zusage|in Aussicht|Hilfe|Unterstützung|bereit", re.I)
"""How the seeds' German sentences state a promise."""


def check_headline(text: str, refused: bool, quotes: Sequence[str]) -> bool:
    """Assert the headline answer is the help, cited to promises, or the refusal showing a promise; True if answered."""
    assert quotes, f"nothing cited: {text}"
    if refused:
        assert text.startswith(REFUSALS["en"]), text
        assert any(PROMISE.search(q) for q in quotes), f"the refusal shows no promise: {quotes}"
        return False
    assert HELP.search(text), text
    for q in quotes:
        assert PROMISE.search(q), f"cited sentence is not about a promise: {q}"
    return True
