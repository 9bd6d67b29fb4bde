"""Answers from whole passages, each sentence tied to the one source sentence that states its new facts.

Why passages: on the GNAD dev set (65 questions on a real archive, session 15) the small model,
shown the six best isolated sentences, wrote a correct draft for 0.673 of the answerable questions;
shown the top-4 whole passages, as the plain baseline does, 0.818. An isolated sentence loses what
its neighbours carry ("Das kündigte Außenminister Lawrow an" names nothing without the sentence
before it).

Why this check: the sentence checker (``rag.citations``) judged each answer sentence whole, question
restated and all; the 1.5B judge said no to "Cenk Tosun scored both goals in Turkey's 2-1 win over
Sweden in Antalya ahead of ..." against "Beim 2:1 (Cenk Tosun erzielte beide Tore) gegen Schweden",
and 12 of 55 correct drafts were refused. Here an answer sentence is checked on what it adds to the
question: its *new* numbers must stand in one source sentence, its new names in that sentence's
passage, and the quote shown to the reader is the sentence that states them. The judge is then
asked a reading question ("does this source give this answer to this question?") on that quote
and the sentence before it. A sentence that adds nothing to the question, or an answer that lacks
the kind of fact the question asks for (a name for "who", a number for "how many", a date for
"when"), is not an answer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer_kind import Preference, expected_fact, preferred
from rag.attribution import leads
from rag.citations import (
    CheckCosts,
    DraftSentence,
    drop_invented_years,
    join_split_numbers,
    name_in,
    name_words,
    names,
    render,
    split_answer,
)
from rag.generate import Generator
from rag.prompt import DONT_KNOW, REFUSAL_MARK, REFUSALS, passage_messages
from rag.quantity import number_words
from rag.retrieve import Retriever
from rag.textnorm import numbers
from rag.types import Answer, AnswerSentence, Citation, Document, Evidence, Passage, Sentence, Timings


@dataclass(frozen=True)
class Grounding:
    """One answer sentence, the passage and the sentence in it that state its new facts (or why none)."""

    text: str
    evidence: Evidence | None
    quote: Sentence | None
    reason: str = ""
    new_facts: frozenset[str] = frozenset()


def passage_evidence(retriever: Retriever, query: str, top_k: int, prefer: Preference | None) -> tuple[
        tuple[Evidence, ...], float]:
    """The ``top_k`` best passages, one evidence item each, its best sentence as the default quote.

    Returns the evidence and the best sentence similarity (for the refusal floor).
    """
    retrieval = retriever.retrieve(query, top_k, max_sentences=10_000, prefer=prefer)
    by_passage: dict[int, Evidence] = {}
    for e in retrieval.evidence:
        by_passage.setdefault(e.passage.passage_id, e)
    out: list[Evidence] = []
    for hit in retrieval.hits:
        pid = hit.passage.passage_id
        if pid in by_passage and hit.passage.text.strip():
            out.append(dataclasses.replace(by_passage[pid], n=len(out) + 1))
    return tuple(out), retrieval.best_similarity


def new_facts(claim: str, question: str, lang: str) -> tuple[set[str], set[str]]:
    """The numbers and (for English) the names a claim adds to its question: what must be sourced."""
    nums = numbers(claim) - numbers(question)
    written = name_words(claim) if lang == "en" else {}
    return nums, set(written) - names(question)


class GroundedChecker:
    """Ties each answer sentence to a quote, or says why it cannot.

    ``judge(question, answer, source)`` is a yes/no reading of the quote; ``translated(word, text)``
    finds a name written as its translation ("France" for "Frankreich"); ``retriever`` ranks a
    passage's candidate quotes by their stored vectors.
    """

    def __init__(self, *, retriever: Retriever | None = None, judge: Callable[[str, str, str], bool] | None = None,
                 translated: Callable[[str, str], bool] | None = None) -> None:
        self.retriever = retriever
        self.judge = judge
        self.translated = translated

    def check(self, drafts: Sequence[DraftSentence], evidence: Sequence[Evidence], question: str, lang: str,
              costs: CheckCosts) -> list[Grounding]:
        by_n = {e.n: e for e in evidence}
        out = []
        for d in drafts:
            started = time.perf_counter()
            nums, nms = new_facts(d.text, question, lang)
            written = name_words(d.text)
            needed = {x: written.get(x, x) for x in nms}
            order = [by_n[n] for n in dict.fromkeys(d.cited) if n in by_n]
            order += [e for e in evidence if e not in order]
            found: Grounding | None = None
            for e in order:
                quote = self._quote(d.text, nums, needed, e.passage)
                if quote is not None:
                    found = Grounding(d.text, e, quote, new_facts=frozenset(nums | nms))
                    break
            costs.rules_s += time.perf_counter() - started
            if found is None:
                missing = ", ".join(sorted(nums | nms))
                out.append(Grounding(d.text, None, None, f"{missing} stands in no source" if missing
                                     else "no source sentence matches"))
                continue
            if self.judge is not None:
                assert found.evidence is not None and found.quote is not None
                t = time.perf_counter()
                ok = self.judge(question, d.text, _with_previous(found.evidence.passage, found.quote))
                costs.judge_s += time.perf_counter() - t
                costs.judge_calls += 1
                if not ok:
                    found = dataclasses.replace(found, evidence=None, quote=None, reason="the judge said no")
            out.append(found)
        return out

    def _quote(self, claim: str, nums: set[str], needed: dict[str, str], passage: Passage) -> Sentence | None:
        """The sentence of ``passage`` stating all the claim's new numbers and most of its new names.

        Numbers must stand in the quote itself (a number elsewhere in the passage is often another
        figure); names may stand anywhere in the passage, since the quote often says "he".
        """
        if not all(self._named(x, w, passage.text) for x, w in needed.items()):
            return None
        candidates = [i for i, s in enumerate(passage.sentences) if nums <= numbers(s.text)]
        if not candidates:
            return None
        scores = np.array([sum(name_in(x, passage.sentences[i].text) for x in needed) for i in candidates],
                          dtype=np.float32)
        if self.retriever is not None and len(candidates) > 1:
            snap = self.retriever.snapshot
            sids = [snap.sentence_ids[passage.passage_id][i] for i in candidates]
            qvec = self.retriever.embedder.embed_queries([claim])[0]
            scores = scores + snap.sentence_vectors[sids] @ qvec
        return passage.sentences[candidates[int(np.argmax(scores))]]

    def _named(self, folded: str, written: str, text: str) -> bool:
        return name_in(folded, text) or (self.translated is not None and self.translated(written, text))


def _with_previous(passage: Passage, quote: Sentence) -> str:
    """The quote after the sentence before it, which resolves its pronouns."""
    sents = passage.sentences
    i = next((k for k, s in enumerate(sents) if s.start == quote.start), 0)
    return (sents[i - 1].text + " " if i > 0 else "") + quote.text


def answers_the_kind(question: str, groundings: Sequence[Grounding], lang: str) -> bool:
    """Whether the grounded sentences hold the kind of fact the question asks for (see ``expected_fact``)."""
    kind = expected_fact(question)
    if kind is None:
        return True
    facts = [f for g in groundings for f in g.new_facts]
    if kind == "number":
        return any(numbers(g.text) - numbers(question) or number_words(g.text) - number_words(question)
                   for g in groundings)
    if kind == "name":
        return lang != "en" or any(not any(c.isdigit() for c in f) for f in facts)
    return bool(facts)


class GroundedAnswerer:
    """Retrieve passages, draft an answer from them, keep the sentences that ground, cite their quotes."""

    def __init__(self, *, retriever: Retriever, generator: Generator, checker: GroundedChecker, top_k: int = 4,
                 max_tokens: int = 200, temperature: float = 0.0, max_sentences: int = 3,
                 refuse_below: float = 0.30) -> None:
        self.retriever = retriever
        self.generator = generator
        self.checker = checker
        self.top_k = top_k
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_sentences = max_sentences
        self.refuse_below = refuse_below

    def evidence(self, query: str, asked: str) -> tuple[tuple[Evidence, ...], float]:
        return passage_evidence(self.retriever, query, self.top_k, preferred(asked))

    def draft(self, asked: str, evidence: Sequence[Evidence], lang: str) -> Iterator[str]:
        yield from self.generator.stream(passage_messages(asked, list(evidence), lang), self.max_tokens,
                                         self.temperature)

    def assemble(self, question: str, raw: str, evidence: Sequence[Evidence], lang: str, timings: Timings,
                 standalone: str | None, verify: bool, asked: str) -> Answer:
        refusal = Answer(question, REFUSALS[lang], True, timings=timings, standalone_question=standalone, draft=raw,
                         verified=verify)
        if not raw or REFUSAL_MARK.lower() in raw.lower() or DONT_KNOW.search(raw):
            return refusal
        drafts = [drop_invented_years(join_split_numbers(d, evidence), evidence, asked) for d in split_answer(raw)]
        documents = self.retriever.snapshot.documents
        if not verify:
            kept = _unchecked(drafts, evidence)
        else:
            started = time.perf_counter()
            costs = CheckCosts()
            groundings = self.checker.check(drafts, evidence, asked, lang, costs)
            kept = [g for g in groundings if g.evidence is not None][: self.max_sentences]
            if kept and not answers_the_kind(asked, kept, lang):
                kept = []
            timings = dataclasses.replace(timings, verify_s=time.perf_counter() - started, checks=costs.as_dict())
        if not kept:
            return dataclasses.replace(refusal, timings=timings)
        sentences, citations = _cite(kept, documents)
        text = render(sentences, "", leads(sentences, citations, lang))
        return Answer(question, text, False, tuple(citations), timings, tuple(sentences), standalone, raw, verify)


def _unchecked(drafts: Sequence[DraftSentence], evidence: Sequence[Evidence]) -> list[Grounding]:
    """The model's own citations taken on trust: its first cited passage, that passage's best sentence."""
    by_n = {e.n: e for e in evidence}
    out = []
    for d in drafts:
        cited = [by_n[n] for n in d.cited if n in by_n]
        if cited:
            out.append(Grounding(d.text, cited[0], cited[0].sentence))
    return out


def _cite(kept: Sequence[Grounding], documents: dict[str, Document]) -> tuple[list[AnswerSentence], list[Citation]]:
    """Number the quotes 1.. in the order the answer uses them; one citation per distinct quote."""
    numbers_of: dict[tuple[int, int], int] = {}
    citations: list[Citation] = []
    sentences = []
    for g in kept:
        assert g.evidence is not None and g.quote is not None
        key = (g.evidence.passage.passage_id, g.quote.start)
        if key not in numbers_of:
            numbers_of[key] = len(numbers_of) + 1
            doc = documents[g.evidence.passage.doc_id]
            citations.append(Citation(
                n=numbers_of[key], doc_id=doc.doc_id, title=doc.title, date=doc.date, source=doc.source,
                passage=g.evidence.passage.text, quote=g.quote.text, passage_id=g.evidence.passage.passage_id,
                quote_start=g.quote.start, quote_end=g.quote.end))
        sentences.append(AnswerSentence(g.text, (numbers_of[key],), True, (g.quote.text,)))
    return sentences, citations
