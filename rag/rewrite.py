"""Follow-up questions rewritten to stand alone, by the local LLM.

"What did he warn the Kremlin about?" means nothing to the retriever or to
the answering model without the turn before it. Searching with the previous
question and answer glued on found the right article but pulled its
sentences towards the previous topic (the sanctions, not the warning), and
showing the model the earlier question made it answer that one instead. A
rewrite ("What did Stephen Biegun warn the Kremlin about?") serves both:
it is the search query and the question the model answers. The examples are
made up, not taken from any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.generate import Generator, Message
from rag.types import Turn

REWRITE_SYSTEM = (
    "You rewrite the user's last question so that it can be understood without the conversation before it. "
    "Replace pronouns and vague words (he, she, they, it, there, then; er, sie, es, dort, damals) with the "
    "names, places and things they refer to in the conversation. Keep the question's language and meaning. "
    "Do not answer it. If the question already stands on its own, repeat it unchanged. "
    "Reply with the rewritten question only."
)


def rewrite_message(question: str, previous: str, answer: str) -> str:
    return f"Conversation:\nQ: {previous}\nA: {answer}\n\nLast question: {question}\nRewritten question:"


REWRITE_EXAMPLES: list[Message] = [
    {"role": "user", "content": rewrite_message("What did he say about the strike?",
                                                "Who runs the port authority in Kiel?",
                                                "Jens Meyer heads the port authority.")},
    {"role": "assistant", "content": "What did Jens Meyer say about the strike?"},
    {"role": "user", "content": rewrite_message("Und wie viel hat sie dafür bezahlt?",
                                                "Welche Firma hat die Werft gekauft?",
                                                "Die Werft wurde von der Firma Nordholz gekauft.")},
    {"role": "assistant", "content": "Wie viel hat die Firma Nordholz für die Werft bezahlt?"},
    {"role": "user", "content": rewrite_message("How many ships were built in Bremen last year?",
                                                "Who announced the strikes?",
                                                "The union leader Anna Berg announced the strikes.")},
    {"role": "assistant", "content": "How many ships were built in Bremen last year?"},
]

_CITATION = re.compile(r"\s*\[\d+\]")
_PREFIX = re.compile(r"^(rewritten question|question|frage)\s*:\s*", re.I)
MAX_ANSWER_CHARS = 400


class LlmRewriter:
    """Rewrites a follow-up against the last turn; ``None`` when the reply is not a question.

    A reply that is empty, does not end in a question mark or is far longer
    than a question is what a small model produces when it starts answering
    instead of rewriting; the caller then falls back to searching with the
    previous turn glued on.
    """

    def __init__(self, generator: Generator, max_tokens: int = 60) -> None:
        self.generator = generator
        self.max_tokens = max_tokens

    def __call__(self, question: str, history: Sequence[Turn]) -> str | None:
        if not history:
            return question
        last = history[-1]
        answer = _CITATION.sub("", last.answer)[:MAX_ANSWER_CHARS].strip()
        messages = [{"role": "system", "content": REWRITE_SYSTEM}, *REWRITE_EXAMPLES,
                    {"role": "user", "content": rewrite_message(question, last.question, answer)}]
        reply = "".join(self.generator.stream(messages, max_tokens=self.max_tokens, temperature=0.0))
        return clean_rewrite(reply, question)


def clean_rewrite(reply: str, question: str) -> str | None:
    """The rewritten question: the reply's first line, if that is a question of sensible length."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = _PREFIX.sub("", lines[0]).strip().strip('"“”„').strip()
    if not text.endswith("?") or len(text) > 2 * len(question) + 120:
        return None
    return text
