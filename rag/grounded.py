"""Answers from whole passages, each sentence tied to the one source sentence that states its new facts.

Why passages: on the GNAD dev set (65 questions on a real archive, session 15) the small model,
shown the six best isolated sentences, wrote a correct draft for 0.673 of the answerable questions;
shown the top-4 whole passages, as the plain baseline does, 0.818. An isolated sentence loses what
its neighbours carry ("Das kündigte Außenminister Lawrow an" names nothing without the sentence
before it).

Why this check: the earlier design's sentence checker judged each answer sentence whole, question
restated and all; the 1.5B judge said no to "Cenk Tosun scored both goals in Turkey's 2-1 win over
Sweden in Antalya ahead of ..." against "Beim 2:1 (Cenk Tosun erzielte beide Tore) gegen Schweden",
and 12 of 55 correct drafts were refused. Here an answer sentence is checked on what it adds to the
question: its *new* numbers must stand in one source sentence, which is the quote shown to the
reader (of the sentences allowed, retrieval's pick, else the one closest to the claim), and asked the question
again over that quote and the sentence before it, the model must reply with the same new numbers or
half of the sentence's new words (``rag.focused``; the yes/no judge of the first version is off by
default since session 19). In a German answer, whose new names cannot be told from its nouns, every
capitalised word it adds must stand in the quote or the sentence before it (``capitals_in_quote``).
A sentence that adds nothing to the question, or an answer that lacks
the kind of fact the question asks for (a name for "who", a number for "how many", a date for
"when"), is not an answer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from rag.answer_kind import Preference, preferred
from rag.answer_text import DraftSentence, render, split_answer
from rag.attribution import leads
from rag.checks import STAGES, Check, Claim, Context, Grounding, enabled, run
from rag.checks.answer_judge import judged_text
from rag.generate import Generator
from rag.names import name_in, name_words, names
from rag.prompt import CLOSEST, REFUSALS, passage_messages, says_nothing
from rag.retrieve import Retriever
from rag.textnorm import numbers, stated_numbers
from rag.types import Answer, AnswerSentence, Citation, Document, Evidence, Passage, Sentence, Timings


def passage_evidence(retriever: Retriever, query: str, top_k: int, prefer: Preference | None) -> tuple[
        tuple[Evidence, ...], float]:
    """The ``top_k`` best passages, one evidence item each, best first by their best sentence.

    Each item's sentence is that best sentence (the default quote). Ordering passages by their best
    sentence, as the plain baseline does, put the answering passage first more often than the fused
    passage rank. Returns the evidence and the best sentence similarity (for the refusal floor).
    """
    retrieval = retriever.retrieve(query, top_k, max_sentences=10_000, prefer=prefer)
    out: list[Evidence] = []
    seen: set[int] = set()
    for e in retrieval.evidence:
        if e.passage.passage_id not in seen and e.passage.text.strip():
            seen.add(e.passage.passage_id)
            out.append(dataclasses.replace(e, n=len(out) + 1))
    return tuple(out), retrieval.best_similarity


def new_facts(claim: str, question: str, lang: str) -> tuple[set[str], set[str]]:
    """The numbers and (for English) the names a claim adds to its question: what must be sourced."""
    nums = numbers(claim) - numbers(question)
    written = name_words(claim) if lang == "en" else {}
    return nums, set(written) - names(question)


class GroundedChecker:
    """Ties each answer sentence to a quote through the registered checks (``rag.checks``), or says why not.

    ``judge(question, answer, source)`` is a yes/no reading of the quote; ``translate(phrase)`` puts
    German words left in an English answer into English; ``retriever`` ranks a passage's candidate
    quotes by their stored vectors; ``read(question, source, lang)`` answers the question over one quote
    alone. ``checks`` is ``RAG_CHECKS``; ``tries`` candidate quotes are read for a sentence before it is
    dropped (``RAG_QUOTE_TRIES``), and the candidates after the accepted one, up to the ``window``-th
    (or the ``tries``-th, if later), are left to corroborate it.
    """

    window = 4

    def __init__(self, *, retriever: Retriever | None = None, judge: Callable[[str, str, str], bool] | None = None,
                 translate: Callable[[str], str] | None = None, read: Callable[[str, str, str], str] | None = None,
                 checks: str = "", tries: int = 3, corroborate: int = 1) -> None:
        if tries < 1:
            raise ValueError(f"quote tries must be at least 1, got {tries}")
        self.retriever = retriever
        self.corroborate = corroborate
        self.tries = tries
        self.judge = judge
        self.translate = translate
        self.read = read
        self.checks = checks
        enabled(checks)

    def context(self, question: str, lang: str, evidence: Sequence[Evidence]) -> Context:
        return Context(question, lang, evidence, self.judge, self._rank if self.retriever else None,
                       translate=self.translate, read=self.read)

    def check(self, drafts: Sequence[DraftSentence], evidence: Sequence[Evidence], ctx: Context,
              off: frozenset[str] = frozenset(), corroborate: bool = True, keep: int | None = None
              ) -> tuple[list[Grounding], bool]:
        """Each draft sentence's grounding, and whether the grounded ones answer the question at all.

        With ``corroborate`` off, each grounding holds its first accepted quote only, and
        ``corroborated`` adds the other articles' quotes later. With ``keep``, the sentences after the
        ``keep``-th grounded one are not read: an answer shows that many, and checking the rest cost
        the slowest answers most of their time (an XQuAD draft listing ten topics took 32 focused
        reads, 12.5 s, for an answer of three sentences; session 25).
        """
        active = enabled(self.checks, off)
        stage = {name: [c for c in active if c.stage == name] for name in STAGES}
        by_n = {e.n: e for e in evidence}
        out: list[Grounding] = []
        for d in drafts:
            if keep is not None and sum(g.evidence is not None for g in out) >= keep:
                break
            for c in stage["draft"]:
                d = run(c, ctx, d)
            nums, nms = new_facts(d.text, ctx.question, ctx.lang)
            written = name_words(d.text)
            claim = Claim(d.text, frozenset(nums), {x: written.get(x, x) for x in nms})
            order = [by_n[n] for n in dict.fromkeys(d.cited) if n in by_n]
            order += [e for e in evidence if e not in order]
            candidates: list[Grounding] = []
            for e in order:
                allowed = self._allowed(claim, e.passage, stage["quote"], ctx)
                if allowed:
                    own = next((i for i, s in enumerate(e.passage.sentences) if s.start == e.sentence.start), None)
                    quote = (e.sentence if own in allowed else self._best(claim, e.passage, allowed, ctx))
                    candidates.append(Grounding(d.text, e, quote, new_facts=frozenset(nums | nms)))
            if not candidates and len(nums) > 1:
                pair = self._pair(claim, evidence, stage["quote"], ctx)
                candidates = [pair] if pair is not None else []
            if not candidates:
                out.append(Grounding(d.text, None, None, _unsourced(nums, evidence)))
                continue
            out.append(self._confirmed(claim, candidates[: max(self.window, self.tries)], stage["sentence"], ctx))
        kept = [g for g in out if g.evidence is not None]
        answers = bool(kept) and all(run(c, ctx, kept) for c in stage["answer"])
        out = [self._presented(g, stage["present"], ctx) if g.evidence is not None else g for g in out]
        return (self.corroborated(out, ctx, off) if corroborate else out), answers

    def corroborated(self, groundings: Sequence[Grounding], ctx: Context,
                     off: frozenset[str] = frozenset()) -> list[Grounding]:
        """``groundings`` with up to ``corroborate`` quotes each from other articles that the sentence checks accept.

        A reader checking "Putin promised military help" wants every article that reports it; but
        each further quote costs a focused read, and waiting for them put the seeds-gate checked
        answer's p50 at 6.9 s, against 5.1 s without (session 24): they come after the answer.
        """
        checks = [c for c in enabled(self.checks, off) if c.stage == "sentence"]
        return [self._corroborated(g.claim, g, list(g.pending), checks, ctx)
                if g.claim is not None and g.evidence is not None and self.corroborate > 0 else g for g in groundings]

    @staticmethod
    def _presented(g: Grounding, checks: list[Check], ctx: Context) -> Grounding:
        text = g.text
        for c in checks:
            text = run(c, ctx, text)
        return g if text == g.text else dataclasses.replace(g, text=text)

    def _confirmed(self, claim: Claim, candidates: list[Grounding], checks: list[Check], ctx: Context) -> Grounding:
        """The first candidate every sentence check accepts, or the last refusal's reason.

        A passage offers its sentence closest to the question (retrieval's pick) when the rules
        allow it, else the one closest to the claim: by the claim, "military assistance if Belarus
        was in danger" sat nearer a sentence about NATO tanks than "sicherte ... militärische Hilfe zu".

        The first passage whose rules pass is not always the one that says it: asked "what did
        Putin promise Lukashenko?", "umfassende Hilfe" grounded "military assistance" before
        "militärische Hilfe" did, and the judge rightly said no to the first.
        """
        reason = ""
        for k, found in enumerate(candidates[: self.tries]):
            failed = next((c for c in checks if not run(c, ctx, claim, found)), None)
            if failed is None:
                return dataclasses.replace(found, claim=claim, pending=tuple(candidates[k + 1:]))
            reason = f"{failed.name} said no"
        return Grounding(claim.text, None, None, reason, candidates[0].new_facts)

    def _corroborated(self, claim: Claim, found: Grounding, rest: list[Grounding], checks: list[Check],
                      ctx: Context) -> Grounding:
        """``found`` plus up to ``corroborate`` quotes of other articles that the same checks accept.

        A reader checking "Putin promised military help" wants every article that reports it; a quote
        whose sentence is word for word one already cited (the same article ingested twice, as the
        headline answer showed in session 24, "[1][2]" on one sentence) tells the reader nothing more.

        A further quote must state the claim's new names that the first quote states (each with the
        sentence before it): "They met in Sotschi, Russia", quoted to "... in der russischen Stadt
        Sotschi ...", was corroborated by "Auch die Präsidenten beider Länder wollen sich in der
        russischen Hauptstadt treffen" (seeds-tune q28, session 25). Names the first quote spells
        otherwise ("Russia", "russischen") are not asked of the second either.
        """
        assert found.evidence is not None and found.quote is not None
        docs = {found.evidence.passage.doc_id}
        first = judged_text(found.evidence.passage, found.quote)
        named = [x for x in claim.names if name_in(x, first)]
        said = {" ".join(q.text.split()) for _, q in found.quotes()}
        more = list(found.corroborating)
        for g in rest:
            if len(found.also) + len(more) >= self.corroborate or g.evidence is None or g.quote is None:
                break
            words = " ".join(g.quote.text.split())
            if g.evidence.passage.doc_id in docs or g.also or words in said:
                continue
            if not all(name_in(x, judged_text(g.evidence.passage, g.quote)) for x in named):
                continue
            if all(run(c, ctx, claim, g) for c in checks):
                more.append((g.evidence, g.quote))
                docs.add(g.evidence.passage.doc_id)
                said.add(words)
        return dataclasses.replace(found, corroborating=tuple(more), pending=())

    def _pair(self, claim: Claim, evidence: Sequence[Evidence], quote_checks: list[Check],
              ctx: Context) -> Grounding | None:
        """Two quotes that state a claim's numbers between them, when no one sentence states them all.

        "850 criminal complaints were filed, and Glawischnig won 500 euros" joins facts of two
        articles; each part is checked by the quote checks as a claim of its own.
        """
        for e in evidence:
            for s in e.passage.sentences:
                first = claim.numbers & stated_numbers(s.text)
                rest = claim.numbers - first
                if not first or not rest:
                    continue
                part = Claim(claim.text, frozenset(first), {})
                if not self._allowed(part, e.passage, quote_checks, ctx):
                    continue
                for other in evidence:
                    allowed = self._allowed(Claim(claim.text, frozenset(rest), {}), other.passage, quote_checks, ctx)
                    both = e.passage.text + " " + other.passage.text
                    if allowed and all(name_in(x, both) for x in claim.names):
                        quote = self._best(claim, other.passage, allowed, ctx)
                        if (other.passage.passage_id, quote.start) != (e.passage.passage_id, s.start):
                            return Grounding(claim.text, e, s, new_facts=frozenset(claim.numbers | set(claim.names)),
                                             also=((other, quote),))
        return None

    def _allowed(self, claim: Claim, passage: Passage, quote_checks: list[Check], ctx: Context) -> list[int]:
        allowed = set(range(len(passage.sentences)))
        for c in quote_checks:
            if not allowed:
                break
            allowed &= set(run(c, ctx, claim, passage))
        return sorted(allowed)

    def _best(self, claim: Claim, passage: Passage, allowed: list[int], ctx: Context) -> Sentence:
        """Of the allowed sentences, the closest in meaning to the claim; a named new name counts a little.

        Names weighed a whole point at first, and "Putin promised military help if Belarus was in
        danger" was quoted to a sentence about NATO troops that named Belarus, not to "sicherte ...
        militärische Hilfe zu"; the numbers rule already bounds where the quote may be.
        """
        scores = [0.1 * sum(name_in(x, passage.sentences[i].text) for x in claim.names) for i in allowed]
        if ctx.rank is not None and len(allowed) > 1:
            scores = [a + b for a, b in zip(scores, ctx.rank(claim.text, passage, allowed), strict=True)]
        return passage.sentences[allowed[max(range(len(allowed)), key=lambda k: scores[k])]]

    def _rank(self, claim: str, passage: Passage, allowed: list[int]) -> list[float]:
        assert self.retriever is not None
        snap = self.retriever.snapshot
        sids = [snap.sentence_ids[passage.passage_id][i] for i in allowed]
        qvec = self.retriever.embedder.embed_queries([claim])[0]
        return [float(x) for x in snap.sentence_vectors[sids] @ qvec]


class GroundedAnswerer:
    """Retrieve passages, draft an answer from them, keep the sentences that ground, cite their quotes."""

    def __init__(self, *, retriever: Retriever, generator: Generator, checker: GroundedChecker, top_k: int = 4,
                 max_tokens: int = 200, temperature: float = 0.0, max_sentences: int = 3) -> None:
        self.retriever = retriever
        self.generator = generator
        self.checker = checker
        self.top_k = top_k
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_sentences = max_sentences

    def evidence(self, query: str, asked: str) -> tuple[tuple[Evidence, ...], float]:
        return passage_evidence(self.retriever, query, self.top_k, preferred(asked))

    def draft(self, asked: str, evidence: Sequence[Evidence], lang: str) -> Iterator[str]:
        yield from self.generator.stream(passage_messages(asked, list(evidence), lang), self.max_tokens,
                                         self.temperature)

    def assemble(self, question: str, raw: str, evidence: Sequence[Evidence], lang: str, timings: Timings,
                 standalone: str | None, verify: bool, asked: str, off: frozenset[str] = frozenset()) -> Answer:
        """The checked answer (``verify``) or the draft on trust; ``off`` names checks to leave out (ablation)."""
        *_, last = self.assembled(question, raw, evidence, lang, timings, standalone, verify, asked, off)
        return last

    def assembled(self, question: str, raw: str, evidence: Sequence[Evidence], lang: str, timings: Timings,
                  standalone: str | None, verify: bool, asked: str, off: frozenset[str] = frozenset()
                  ) -> Iterator[Answer]:
        """``assemble``'s answer as soon as each kept sentence has one quote; then, when other articles'
        passages are left to try, the same answer with any of their quotes the checks accept
        (``GroundedChecker.corroborated``), timed as ``corroborate_s``."""
        refusal = closest(Answer(question, REFUSALS[lang], True, timings=timings, standalone_question=standalone,
                                 draft=raw, verified=verify), evidence, self.retriever.snapshot.documents, lang)
        if says_nothing(raw):
            yield refusal
            return
        drafts = split_answer(raw)
        dropped: tuple[str, ...] = ()
        ctx = None
        if not verify:
            kept = _unchecked(drafts, evidence)
        else:
            started = time.perf_counter()
            ctx = self.checker.context(asked, lang, evidence)
            groundings, answers = self.checker.check(drafts, evidence, ctx, off, corroborate=False,
                                                     keep=self.max_sentences)
            kept = [g for g in groundings if g.evidence is not None] if answers else []
            dropped = tuple(f"{g.text[:80]}: {g.reason}" for g in groundings if g.evidence is None)
            if not answers and len(dropped) < len(groundings):
                dropped += ("an answer check said no: the kept sentences do not answer what was asked",)
            timings = dataclasses.replace(timings, verify_s=time.perf_counter() - started, checks=_costs(ctx))
        if not kept:
            yield dataclasses.replace(refusal, timings=timings, dropped=dropped)
            return
        shown = kept[: self.max_sentences]
        yield self._answer(question, shown, timings, standalone, raw, verify, dropped, lang)
        if ctx is None or self.checker.corroborate <= 0 or not any(g.pending for g in shown):
            return
        started = time.perf_counter()
        more = self.checker.corroborated(shown, ctx, off)
        timings = dataclasses.replace(timings, corroborate_s=time.perf_counter() - started, checks=_costs(ctx))
        yield self._answer(question, more, timings, standalone, raw, verify, dropped, lang)

    def _answer(self, question: str, kept: Sequence[Grounding], timings: Timings, standalone: str | None, raw: str,
                verify: bool, dropped: tuple[str, ...], lang: str) -> Answer:
        sentences, citations = _cite(kept, self.retriever.snapshot.documents)
        text = render(sentences, leads(sentences, citations, lang))
        return Answer(question, text, False, tuple(citations), timings, tuple(sentences), standalone, raw, verify,
                      dropped)


def _costs(ctx: Context) -> dict[str, float]:
    """The checks' times and counts so far, with the model-run checks summed as ``llm_judge_*``."""
    model_checks = ("answer_judge", "focused_read")
    return {**ctx.costs, "llm_judge_s": sum(ctx.costs.get(f"{c}_s", 0.0) for c in model_checks),
            "llm_judge_calls": sum(ctx.costs.get(f"{c}_calls", 0.0) for c in model_checks)}


def _unsourced(nums: set[str], evidence: Sequence[Evidence]) -> str:
    """Why no quote grounds a claim: its new numbers that stand in no passage, else that no sentence may be its quote.

    Listing every new fact ("2016, 9, august stands in no source") left the reader of a report to
    find which one was missing.
    """
    said = set().union(*(stated_numbers(s.text) for e in evidence for s in e.passage.sentences))
    absent = sorted(n for n in nums if n not in said)
    if absent:
        return f"{', '.join(absent)} {'stands' if len(absent) == 1 else 'stand'} in no source"
    if nums:
        return f"no one source sentence states {', '.join(sorted(nums))}"
    return "no source sentence matches"


def closest(refusal: Answer, evidence: Sequence[Evidence], documents: Mapping[str, Document], lang: str,
            count: int = 2) -> Answer:
    """The refusal, followed by the best sentences of the ``count`` closest passages, cited and marked.

    A refusal alone leaves the reader nowhere; an answer the checks did not pass must not be shown.
    What is shown instead is what the archive has nearest the question, said to be that.
    """
    shown = [e for e in evidence if e.passage.doc_id in documents][:count]
    if not shown:
        return refusal
    _, citations = _cite([Grounding("", e, e.sentence) for e in shown], documents)
    marks = ", ".join(f"[{c.n}]" for c in citations)
    return dataclasses.replace(refusal, answer=f"{refusal.answer} {CLOSEST[lang].format(marks=marks)}",
                               citations=tuple(citations))


def _unchecked(drafts: Sequence[DraftSentence], evidence: Sequence[Evidence]) -> list[Grounding]:
    """The draft taken on trust: every sentence kept, cited to the passage the model named, if it named one."""
    by_n = {e.n: e for e in evidence}
    out = []
    for d in drafts:
        cited = [by_n[n] for n in d.cited if n in by_n]
        out.append(Grounding(d.text, cited[0], cited[0].sentence) if cited else Grounding(d.text, None, None))
    return out


def _cite(kept: Sequence[Grounding], documents: Mapping[str, Document]) -> tuple[list[AnswerSentence], list[Citation]]:
    """Number the quotes 1.. in the order the answer uses them; one citation per distinct quote."""
    numbers_of: dict[tuple[int, int], int] = {}
    citations: list[Citation] = []
    sentences = []
    for g in kept:
        cited: list[int] = []
        for e, quote in g.quotes():
            key = (e.passage.passage_id, quote.start)
            if key not in numbers_of:
                numbers_of[key] = len(numbers_of) + 1
                doc = documents[e.passage.doc_id]
                citations.append(Citation(
                    n=numbers_of[key], doc_id=doc.doc_id, title=doc.title, date=doc.date, source=doc.source,
                    passage=e.passage.text, quote=quote.text, passage_id=e.passage.passage_id,
                    quote_start=quote.start, quote_end=quote.end))
            cited.append(numbers_of[key])
        sentences.append(AnswerSentence(g.text, tuple(cited), bool(cited), tuple(q.text for _, q in g.quotes()),
                                        g.grounded_by))
    return sentences, citations
