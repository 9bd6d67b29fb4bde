"""The question-answering pipeline: retrieve, generate, check, cite.

``Assistant.stream`` yields events so the CLI and the UI can show sources as
soon as retrieval is done and the answer as it is generated; ``ask`` drains
the stream into a final ``Answer``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rag.answer_kind import Preference, preferred
from rag.attribution import leads
from rag.citations import CheckCosts, CitationChecker, DraftSentence, Verdict, build_citations, render, split_answer
from rag.errors import InputError
from rag.generate import Generator
from rag.grounded import GroundedAnswerer
from rag.prompt import REFUSAL_MARK, REFUSALS, build_messages, detect_language
from rag.quantity import gives_quantity, without_amounts
from rag.retrieve import Retriever
from rag.types import Answer, AnswerSentence, Evidence, Timings, Turn

MAX_QUESTION_CHARS = 1000  # stated twice in the prompt, with six sources it stays inside 2048 tokens


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
    answer: Answer


Event = Retrieved | Token | Done


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
    """Answers one question at a time from one index snapshot.

    The prompt asks for one to three sentences; the small model often goes on,
    drifting to sources that are near the topic but do not answer it. So at most
    ``max_sentences`` checked sentences are kept: the instruction, enforced.
    """

    def __init__(self, retriever: Retriever, generator: Generator, checker: CitationChecker,
                 top_k: int = 6, evidence_sentences: int = 6, refuse_below: float = 0.30,
                 max_tokens: int = 200, temperature: float = 0.0, max_sentences: int = 3,
                 verify: bool = True, relevance: Callable[[str, str], bool] | None = None,
                 rewriter: Callable[[str, Sequence[Turn]], str | None] | None = None,
                 same_claim: float = 0.85, answerer: GroundedAnswerer | None = None) -> None:
        self.retriever = retriever
        self.generator = generator
        self.checker = checker
        self.top_k = top_k
        self.evidence_sentences = evidence_sentences
        self.refuse_below = refuse_below
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_sentences = max_sentences
        self.verify = verify
        self.relevance = relevance
        self.rewriter = rewriter
        self.same_claim = same_claim
        self.answerer = answerer

    def warm_up(self) -> None:
        """Load both models and put the fixed prompt prefix into the KV cache.

        The first visitor's first token then costs only the question and its
        sources, not model loading and the system prompt.
        """
        self.retriever.embedder.embed_queries(["warm up"])
        messages = build_messages("warm up", [], self.retriever.snapshot.documents, "en")
        for _ in self.generator.stream(messages, max_tokens=1, temperature=0.0):
            pass

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        final = None
        for event in self.stream(question, history):
            if isinstance(event, Done):
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
        prefer = preferred(asked)
        if self.answerer is not None:
            evidence, best = self.answerer.evidence(query, asked)
        else:
            retrieval = self.retriever.retrieve(query, self.top_k, self.evidence_sentences, prefer=prefer)
            evidence, best = retrieval.evidence, retrieval.best_similarity
        retrieve_s = time.perf_counter() - searched
        yield Retrieved(evidence, query, asked)
        if not evidence or best < self.refuse_below:
            total = time.perf_counter() - started
            yield Done(Answer(question, REFUSALS[lang], True,
                              timings=Timings(retrieve_s, None, total, None, rewrite_s=rewrite_s),
                              standalone_question=standalone))
            return
        if self.answerer is not None:
            stream = self.answerer.draft(asked, evidence, lang)
        else:
            messages = build_messages(asked, list(evidence), self.retriever.snapshot.documents, lang)
            stream = self.generator.stream(messages, self.max_tokens, self.temperature)
        pieces: list[str] = []
        first_token = None
        for piece in stream:
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
        answer = self.assemble(question, raw, evidence, lang, timings, standalone, self.verify, asked)
        if self.answerer is not None:
            yield Done(answer)
            return
        answer = self._second_try(question, answer, evidence, lang, standalone, asked)
        yield Done(self._other_dates(question, answer, evidence, lang, standalone, asked, prefer))

    def _second_try(self, question: str, answer: Answer, evidence: Sequence[Evidence], lang: str,
                    standalone: str | None, asked: str) -> Answer:
        """If the checked answer does not respond to the question, or was refused for naming the wrong
        office holder, ask once more without the sources it used (for the latter, the ones its draft cited).

        The retry keeps its result only when that one is supported and does
        respond; otherwise the first answer stands. Its tokens are not
        streamed: the final answer replaces the streamed text. ``relevance_s``
        counts the relevance calls and the retry's generation; the retry's own
        checks add to their kinds.
        """
        if (answer.refused and not answer.wrong_person) or not self.verify:
            return answer
        started = time.perf_counter()
        checks = dict(answer.timings.checks)
        final, retry_checks_s = answer, 0.0
        if answer.wrong_person or not self._responds(asked, answer, checks):
            used = ({n for d in split_answer(answer.draft) for n in d.cited} if answer.wrong_person
                    else {n for s in answer.sentences for n in s.citations})
            rest = [e for e in evidence if e.n not in used]
            if rest:
                checks["retries"] = checks.get("retries", 0.0) + 1
                retry = self._answer_from(rest, question, lang, standalone, asked, checks)
                retry_checks_s = retry.timings.verify_s or 0.0
                if not retry.refused and self._responds(asked, retry, checks):
                    final = dataclasses.replace(retry, draft=f"{answer.draft}\n---\n{retry.draft}")
        spent = time.perf_counter() - started
        checks["relevance_s"] = checks.get("relevance_s", 0.0) + spent - retry_checks_s
        timings = dataclasses.replace(answer.timings, verify_s=(answer.timings.verify_s or 0.0) + spent,
                                      checks=checks)
        return dataclasses.replace(final, timings=timings)

    def _other_dates(self, question: str, answer: Answer, evidence: Sequence[Evidence], lang: str,
                     standalone: str | None, asked: str, prefer: Preference | None) -> Answer:
        """For a question whose answer changes with the article's date, add what the other dates' sources say.

        Asked "how old is Lukashenko?" and shown "Der 65-Jährige" (August) and
        "den 66-Jährigen" (September), the small model writes the first age
        only. So when the question's kind is ``dated`` and sources of that
        kind from dates the answer does not cite were shown, the model is
        asked once more from those sources alone. A checked sentence of that
        answer is added after the answer's own when it makes the same claim with
        another value: with numbers masked, its embedding is within
        ``same_claim`` cosine of one of the answer's sentences ("Lukashenko is N
        years old" twice, 1.0; "has been in power for N years" against "for N
        months since the protests began", 0.76). The dated labels of
        ``rag.attribution`` then say which article says what.
        """
        if answer.refused or not self.verify or prefer is None or not prefer.dated:
            return answer
        documents = self.retriever.snapshot.documents
        cited_dates = {c.date for c in answer.citations}
        cited = {c.n for c in answer.citations}
        rest = [e for e in evidence if e.n not in cited and prefer.test(e.sentence.text)
                and documents[e.passage.doc_id].date not in cited_dates | {None}]
        if None in cited_dates or not rest:
            return answer
        started = time.perf_counter()
        checks = dict(answer.timings.checks)
        checks["dated_retries"] = checks.get("dated_retries", 0.0) + 1
        more = self._answer_from(rest, question, lang, standalone, asked, checks)
        final = answer
        if not more.refused and self._responds(asked, more, checks):
            back = {i + 1: e.n for i, e in enumerate(rest)}
            added = [dataclasses.replace(s, citations=tuple(back[n] for n in s.citations))
                     for s in self._same_claims(answer.sentences, more.sentences)]
            if added:
                sentences = [*answer.sentences, *added[: max(1, self.max_sentences - len(answer.sentences))]]
                citations = build_citations(sentences, evidence, documents)
                final = dataclasses.replace(
                    answer, answer=render(sentences, "[unsupported]", leads(sentences, citations, lang)),
                    citations=tuple(citations), sentences=tuple(sentences), draft=f"{answer.draft}\n---\n{more.draft}")
        timings = dataclasses.replace(answer.timings, checks=checks,
                                      verify_s=(answer.timings.verify_s or 0.0) + time.perf_counter() - started)
        return dataclasses.replace(final, timings=timings)

    def _answer_from(self, sources: Sequence[Evidence], question: str, lang: str, standalone: str | None,
                     asked: str, checks: dict[str, float]) -> Answer:
        """A checked answer from ``sources`` alone, numbered from 1; its check costs are added to ``checks``."""
        renumbered = tuple(dataclasses.replace(e, n=i + 1) for i, e in enumerate(sources))
        messages = build_messages(asked, list(renumbered), self.retriever.snapshot.documents, lang)
        raw = "".join(self.generator.stream(messages, self.max_tokens, self.temperature)).strip()
        answer = self.assemble(question, raw, renumbered, lang, Timings(), standalone, True, asked)
        for key, value in answer.timings.checks.items():
            checks[key] = checks.get(key, 0.0) + value
        return answer

    def _same_claims(self, claims: Sequence[AnswerSentence], others: Sequence[AnswerSentence]) -> list[AnswerSentence]:
        """The ``others`` that state one of ``claims`` with other values (see ``_other_dates``)."""
        if not claims or not others:
            return []
        vectors = self.retriever.embedder.embed_queries([without_amounts(s.text) for s in [*claims, *others]])
        sims = vectors[len(claims):] @ vectors[: len(claims)].T
        return [s for s, row in zip(others, sims, strict=True) if float(row.max()) >= self.same_claim]

    def _responds(self, question: str, answer: Answer, checks: dict[str, float]) -> bool:
        """The quantity rule, then the relevance judge, on an answer's checked sentences.

        Judge calls are counted in ``checks``; an answer that fails the rule costs none.
        """
        text = " ".join(s.text for s in answer.sentences)
        if not gives_quantity(question, text):
            checks["quantity_misses"] = checks.get("quantity_misses", 0.0) + 1
            return False
        if self.relevance is None:
            return True
        checks["relevance_calls"] = checks.get("relevance_calls", 0.0) + 1
        return self.relevance(question, text)

    def assemble(self, question: str, raw: str, evidence: Sequence[Evidence], lang: str,
                 timings: Timings | None = None, standalone: str | None = None, verify: bool = True,
                 asked: str | None = None) -> Answer:
        """Turn the model's raw text into an ``Answer``, checking each sentence when ``verify``.

        Unverified, the citations are the numbers the model wrote, taken on
        trust, as every peer tool shows them; the eval builds both from one
        generation to measure what verification is worth. ``asked`` is the
        question the model answered (a follow-up's rewrite), which the checks
        read claims against.
        """
        timings = timings or Timings()
        if self.answerer is not None:
            return self.answerer.assemble(question, raw, evidence, lang, timings, standalone, verify, asked or question)
        refusal = Answer(question, REFUSALS[lang], True, timings=timings, standalone_question=standalone, draft=raw,
                         verified=verify)
        if not raw or REFUSAL_MARK.lower() in raw.lower():
            return refusal
        drafts = split_answer(raw)
        if verify:
            started = time.perf_counter()
            costs = CheckCosts()
            verdicts = self.checker.check(drafts, evidence, asked or question, costs)
            timings = dataclasses.replace(timings, verify_s=time.perf_counter() - started, checks=costs.as_dict())
        else:
            verdicts = unchecked(drafts, evidence)
        if verify and any(v.wrong_person for v in verdicts):
            return dataclasses.replace(refusal, timings=timings, wrong_person=True)
        drop = verify and self.checker.drop_unsupported
        kept: list[Verdict] = [v for v in verdicts if v.sentence.supported or not drop][: self.max_sentences]
        if not kept or (verify and not any(v.sentence.supported for v in kept)):
            return dataclasses.replace(refusal, timings=timings)
        sentences = [v.sentence for v in kept]
        citations = build_citations(sentences, evidence, self.retriever.snapshot.documents)
        text = render(sentences, "[unsupported]" if verify else "", leads(sentences, citations, lang))
        return Answer(question, text, False, tuple(citations), timings, tuple(sentences), standalone, raw, verify)

    def ask_both(self, question: str, history: Sequence[Turn] = ()) -> tuple[Answer, Answer]:
        """One generation, assembled with and without verification: (verified, unverified)."""
        checked, other, _ = self.ask_ablated(question, history)
        return checked, other

    def ask_ablated(self, question: str, history: Sequence[Turn] = (),
                    ablate: Sequence[str] = ()) -> tuple[Answer, Answer, dict[str, Answer]]:
        """``ask_both``, plus the checked answer re-assembled from the same draft with each ``ablate`` check off.

        Only the grounded design has named checks; the ablated answers cost their checks, not a generation.
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
            elif isinstance(event, Done):
                final = event.answer
        assert final is not None
        lang = detect_language(question)
        raw = "".join(streamed).strip()
        base = dataclasses.replace(final.timings, verify_s=None, checks={})
        other = self.assemble(question, raw, evidence, lang, base, final.standalone_question,
                              verify=not final.verified, asked=asked)
        ablated: dict[str, Answer] = {}
        if self.answerer is not None and final.verified:
            for name in ablate:
                ablated[name] = self.answerer.assemble(question, raw, evidence, lang, base, final.standalone_question,
                                                       True, asked, off=frozenset({name}))
        return ((final, other) if final.verified else (other, final)) + (ablated,)


def unchecked(drafts: Sequence[DraftSentence], evidence: Sequence[Evidence]) -> list[Verdict]:
    """Verdicts that trust the model: a sentence counts as supported when it cites a shown source."""
    by_n = {e.n: e for e in evidence}
    out = []
    for d in drafts:
        cited = tuple(n for n in d.cited if n in by_n)
        out.append(Verdict(AnswerSentence(d.text, cited, bool(cited), tuple(by_n[n].sentence.text for n in cited)),
                           "" if cited else "no citation"))
    return out
