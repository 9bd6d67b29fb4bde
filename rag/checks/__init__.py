"""The answer checks of the grounded design, as a registry of named, switchable, timed checks.

Each check lives in a file of its own and registers itself with ``@check(name, stage)``. A stage says
what a check sees and returns:

- ``draft``: (DraftSentence, Context) -> DraftSentence, a repair before anything is judged;
- ``quote``: (Claim, Passage, Context) -> list of sentence indices that may be the quote (empty: the
  passage cannot ground the claim);
- ``sentence``: (Claim, Grounding, Context) -> bool, whether a grounded sentence is kept;
- ``answer``: (list of Grounding, Context) -> bool, whether the kept sentences answer at all;
- ``present``: (str, Context) -> str, how a kept sentence is worded for the reader, after every
  check has decided on the sentence as drafted.

``RAG_CHECKS=-answer_judge,-fact_kind`` switches checks off (``+name`` one that is off by default);
``rag eval --ablate`` re-assembles every answer with each check off in turn, from the same draft,
and reports what each one is worth. Every call is timed and counted into ``Context.costs`` under the check's name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.types import Evidence, Passage, Sentence

STAGES = ("draft", "quote", "sentence", "answer", "present")


@dataclass(frozen=True)
class Claim:
    """An answer sentence and the numbers and names it adds to its question (folded name -> as written)."""

    text: str
    numbers: frozenset[str]
    names: dict[str, str]


@dataclass(frozen=True)
class Grounding:
    """One answer sentence, the passage and the sentence in it that state its new facts (or why none)."""

    text: str
    evidence: Evidence | None
    quote: Sentence | None
    reason: str = ""
    new_facts: frozenset[str] = frozenset()
    also: tuple[tuple[Evidence, Sentence], ...] = ()
    """Further quotes, when the sentence joins facts that no one source sentence states together."""
    corroborating: tuple[tuple[Evidence, Sentence], ...] = ()
    """Quotes of further articles stating the same facts (``GroundedChecker.corroborated``), not needed to ground it."""
    claim: Claim | None = field(default=None, compare=False, repr=False)
    pending: tuple[Grounding, ...] = field(default=(), compare=False, repr=False)
    """The claim's candidates after this one, not yet tried as corroborating quotes from other articles."""

    def quotes(self) -> list[tuple[Evidence, Sentence]]:
        first = [(self.evidence, self.quote)] if self.evidence is not None and self.quote is not None else []
        return first + list(self.also) + list(self.corroborating)

    @property
    def grounded_by(self) -> int:
        """How many of ``quotes()``, from the first, ground the sentence; the rest corroborate it."""
        return (self.evidence is not None and self.quote is not None) + len(self.also)


@dataclass
class Context:
    """What every check may read: the question, its language, the evidence, and the models' helpers."""

    question: str
    lang: str
    evidence: Sequence[Evidence]
    judge: Callable[[str, str, str], bool] | None = None
    rank: Callable[[str, Passage, list[int]], list[float]] | None = None
    translate: Callable[[str], str] | None = None
    read: Callable[[str, str, str], str] | None = None
    """``(question, source, lang) -> reply``: the model asked the question over one quote alone."""
    costs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    stage: str
    run: Callable[..., Any]
    doc: str
    default: bool = True


REGISTRY: dict[str, Check] = {}


def check(name: str, stage: str, default: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as the check ``name`` of ``stage``; its docstring says why it exists.

    A check with ``default=False`` runs only when ``RAG_CHECKS`` names it ("+name").
    """
    assert stage in STAGES, stage

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = Check(name, stage, fn, (fn.__doc__ or "").strip().split("\n\n")[0], default)
        return fn

    return register


def run(c: Check, ctx: Context, *args: Any) -> Any:
    """Call a check, adding its time and a count to ``ctx.costs``."""
    started = time.perf_counter()
    try:
        return c.run(*args, ctx)
    finally:
        ctx.costs[f"{c.name}_s"] = ctx.costs.get(f"{c.name}_s", 0.0) + time.perf_counter() - started
        ctx.costs[f"{c.name}_calls"] = ctx.costs.get(f"{c.name}_calls", 0.0) + 1


def enabled(spec: str = "", off: frozenset[str] = frozenset()) -> list[Check]:
    """The registered checks in registration order, less those ``spec`` ("-name,-other") or ``off`` names."""
    load()
    names = [p.strip() for p in spec.split(",") if p.strip()]
    unknown = [n.lstrip("-+") for n in names if n.lstrip("-+") not in REGISTRY]
    if unknown:
        from rag.errors import InputError

        raise InputError(f"unknown check {unknown[0]!r} in RAG_CHECKS; known: {', '.join(REGISTRY)}")
    dropped = {n[1:] for n in names if n.startswith("-")} | set(off)
    added = {n[1:] for n in names if n.startswith("+")}
    return [c for c in REGISTRY.values() if c.name not in dropped and (c.default or c.name in added)]


def load() -> None:
    """Import the check modules once, which registers them (in this order)."""
    from rag.checks import (
        adds_to_question,
        answer_judge,
        calendar_words,
        capitals_in_quote,
        dates_in_quote,
        fact_kind,
        focused_read,
        foreign_words,
        lead_in,
        number_words,
        numbers_in_quote,
        place_names,
    )

    del (adds_to_question, answer_judge, calendar_words, capitals_in_quote, dates_in_quote, fact_kind, focused_read,
         foreign_words, lead_in, number_words, numbers_in_quote, place_names)
