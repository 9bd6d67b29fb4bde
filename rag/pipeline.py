"""The question-answering pipeline: retrieve, generate, check, cite.

``Assistant.stream`` yields events so the CLI and the UI can show sources as
soon as retrieval is done and the answer as it is generated; ``ask`` drains
the stream into a final ``Answer``. The checked answer comes as ``Done``; quotes from further
articles that state the same facts follow in ``Corroborated``. What is retrieved, drafted and checked is
the grounded answerer's (``rag.grounded``); the Assistant adds follow-up
rewriting, the refusal floor, streaming and timings.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rag.errors import InputError
from rag.generate import Generator
from rag.grounded import GroundedAnswerer
from rag.language import detect_language
from rag.prompt import REFUSALS, passage_messages
from rag.retrieve import Retriever
from rag.types import Answer, Evidence, Timings, Turn

MAX_QUESTION_CHARS = 1000  # with four passages of about 500 characters the prompt stays inside 2048 tokens


@dataclass(frozen=True)
class Retrieved:
    """Sent once retrieval is done, before any token: the evidence, the search query, the question answered."""

    evidence: tuple[Evidence, ...]
    query: str
    question: str


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    """The checked answer, each sentence with one quote: what the reader waits for."""

    answer: Answer


@dataclass(frozen=True)
class Corroborated:
    """After ``Done``, when other articles state the same facts: the same answer with their quotes added."""

    answer: Answer


Event = Retrieved | Token | Done | Corroborated


def standalone_query(question: str, history: Sequence[Turn]) -> str:
    """The retrieval query for a follow-up without a rewrite: the last turn's question and answer, then this one.

    "Where did she go?" only finds Tikhanovskaya's passage if her name, which
    the previous answer holds, is part of the query. With an LLM rewriter the
    rewritten question is the query, and this is its fallback.
    """
    if not history:
        return question
    last = history[-1]
    return f"{last.question} {last.answer[:300]} {question}".strip()


class Assistant:
    """Answers one question at a time from one index snapshot, with the grounded answerer.

    ``verify`` off shows the draft with the model's own citations, unchecked; ``refuse_below`` is
    the best sentence similarity under which nothing is generated; ``rewriter`` turns a follow-up
    into a standalone question.
    """

    def __init__(self, answerer: GroundedAnswerer, refuse_below: float = 0.30, verify: bool = True,
                 rewriter: Callable[[str, Sequence[Turn]], str | None] | None = None) -> None:
        self.answerer = answerer
        self.refuse_below = refuse_below
        self.verify = verify
        self.rewriter = rewriter

    @property
    def retriever(self) -> Retriever:
        return self.answerer.retriever

    @retriever.setter
    def retriever(self, retriever: Retriever) -> None:
        """A new index snapshot (the chat app after adding or deleting articles): for retrieval and checks alike."""
        self.answerer.retriever = retriever
        self.answerer.checker.retriever = retriever

    @property
    def generator(self) -> Generator:
        return self.answerer.generator

    def warm_up(self) -> None:
        """Load both models and put the fixed prompt prefix into the KV cache.

        The first visitor's first token then costs only the question and its
        passages, not model loading and the prompt's instructions.
        """
        self.retriever.embedder.embed_queries(["warm up"])
        for _ in self.generator.stream(passage_messages("warm up", [], "en"), max_tokens=1, temperature=0.0):
            pass

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        final = None
        for event in self.stream(question, history):
            if isinstance(event, Done | Corroborated):
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        question = (question or "").strip()
        if not question:
            raise InputError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        started = time.perf_counter()
        lang = detect_language(question)
        rewritten: str | None = None
        rewrite_s: float | None = None
        if history and self.rewriter is not None:
            rewritten = self.rewriter(question, history)
            rewrite_s = time.perf_counter() - started
        query = rewritten or standalone_query(question, history)
        asked = rewritten or question
        standalone = query if history else None
        searched = time.perf_counter()
        evidence, best = self.answerer.evidence(query, asked)
        retrieve_s = time.perf_counter() - searched
        yield Retrieved(evidence, query, asked)
        if not evidence or best < self.refuse_below:
            total = time.perf_counter() - started
            yield Done(Answer(question, REFUSALS[lang], True,
                              timings=Timings(retrieve_s, None, total, None, rewrite_s=rewrite_s),
                              standalone_question=standalone))
            return
        pieces: list[str] = []
        first_token = None
        for piece in self.answerer.draft(asked, evidence, lang):
            if first_token is None:
                first_token = time.perf_counter()
            pieces.append(piece)
            yield Token(piece)
        done = time.perf_counter()
        raw = "".join(pieces).strip()
        stats = self.generator.last_stats
        gen_s = done - first_token if first_token else 0.0
        timings = Timings(
            retrieve_s=retrieve_s,
            first_token_s=None if first_token is None else first_token - started,
            total_s=done - started,
            tokens_per_s=stats.tokens_per_s if stats is not None else
            (len(pieces) - 1) / gen_s if gen_s > 0 and len(pieces) > 1 else None,
            prompt_tokens=stats.prompt_tokens if stats is not None else None,
            tokens=stats.tokens if stats is not None else None,
            rewrite_s=rewrite_s,
        )
        for k, answer in enumerate(self.answerer.assembled(question, raw, evidence, lang, timings, standalone,
                                                           self.verify, asked)):
            yield Done(answer) if k == 0 else Corroborated(answer)

    def ask_both(self, question: str, history: Sequence[Turn] = ()) -> tuple[Answer, Answer]:
        """One generation, assembled with and without verification: (verified, unverified)."""
        checked, other, _ = self.ask_ablated(question, history)
        return checked, other

    def ask_ablated(self, question: str, history: Sequence[Turn] = (),
                    ablate: Sequence[str] = ()) -> tuple[Answer, Answer, dict[str, Answer]]:
        """``ask_both``, plus the checked answer re-assembled from the same draft with each ``ablate`` check off.

        The ablated answers cost their checks, not a generation. A question refused before any draft
        (below the refusal floor) keeps that refusal in every variant.
        """
        evidence: tuple[Evidence, ...] = ()
        asked = question
        final = None
        streamed: list[str] = []
        for event in self.stream(question, history):
            if isinstance(event, Retrieved):
                evidence, asked = event.evidence, event.question
            elif isinstance(event, Token):
                streamed.append(event.text)
            elif isinstance(event, Done | Corroborated):
                final = event.answer
        assert final is not None
        lang = detect_language(question)
        raw = "".join(streamed).strip()
        base = dataclasses.replace(final.timings, verify_s=None, checks={})
        other = self.answerer.assemble(question, raw, evidence, lang, base, final.standalone_question,
                                       not final.verified, asked)
        ablated: dict[str, Answer] = {}
        if final.verified:
            for name in ablate:
                answerer, off = self._ablation(name)
                ablated[name] = final if not raw else answerer.assemble(
                    question, raw, evidence, lang, base, final.standalone_question, True, asked, off=off)
        return ((final, other) if final.verified else (other, final)) + (ablated,)

    def _ablation(self, name: str) -> tuple[GroundedAnswerer, frozenset[str]]:
        """A check's name leaves that check out; ``tries=N`` reads N candidate quotes per sentence instead."""
        key, _, value = name.partition("=")
        if key != "tries":
            return self.answerer, frozenset({name})
        checker = copy.copy(self.answerer.checker)
        checker.tries = int(value)
        answerer = copy.copy(self.answerer)
        answerer.checker = checker
        return answerer, frozenset()
