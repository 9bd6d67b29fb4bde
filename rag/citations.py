"""Parse [n] markers, check each answer sentence against its sources, map to citations.

A small model cites loosely: it strings [1][2][3] together, cites the wrong
source, or slips in a number no source states. Each sentence is checked
before it is shown: its numbers must stand in a cited sentence (the quote a
reader checks, not merely its passage), and its claim must be close in meaning
(multilingual embeddings) to the cited sentence.
Wrong citations are moved to the evidence that supports the claim; a sentence
nothing supports is dropped or marked, depending on settings.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.chunk import split_sentences
from rag.prompt import detect_language
from rag.roles import asked_role, holds_role, surnames
from rag.textnorm import MONTHS, fold, numbers
from rag.types import AnswerSentence, Citation, Document, Evidence

_MARK = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_TRAILING_MARK = re.compile(r"([.!?])[ \t]*((?:\[\d+(?:\s*[,;]\s*\d+)*\])+)")
_NAME = re.compile(r"\b[A-ZÄÖÜ][a-zäöüß]{2,}(?:-[A-ZÄÖÜ][a-zäöüß]+)?")
_PRONOUN_START = re.compile(r"^(he|she|it|they|his|her|their|this|these|er|sie|es|dies|dabei)\b", re.I)
EXONYMS = {fold(k): v for k, v in {
    "Moscow": ["Moskau"], "Lithuania": ["Litauen"], "Lithuanian": ["litauisch"], "Latvia": ["Lettland"],
    "Poland": ["Polen"], "Polish": ["polnisch"], "Russia": ["Russland"], "Russian": ["russisch", "Russland"],
    "Belarusian": ["belarussisch", "Belarus"], "Kremlin": ["Kreml"], "Germany": ["Deutschland"],
    "German": ["deutsch"], "Brussels": ["Brüssel"], "Vilnius": ["Wilna"], "Crimea": ["Krim"],
    "Ukraine": ["Ukraine"], "Ukrainian": ["ukrainisch"], "Black": ["Schwarz"], "Sea": ["Meer"],
    "European": ["EU", "europäisch"], "Union": ["EU", "Union"], "United": ["USA", "US"], "States": ["USA", "US"],
    "American": ["USA", "US", "amerikanisch"], "Soviet": ["Sowjet"], "Interior": ["Innen"], "Ministry": ["Ministerium"],
    "September": ["September"], "August": ["August"], "Sunday": ["Sonntag"], "Monday": ["Montag"],
    "Tuesday": ["Dienstag"], "Wednesday": ["Mittwoch"], "Thursday": ["Donnerstag"], "Friday": ["Freitag"],
    "Saturday": ["Samstag"], "February": ["Februar"], "National": ["National"], "Guard": ["garde"],
    "Secretary": ["Sekretär"], "General": ["General"],
}.items()}
_NOT_NAMES = set("""
president prime minister spokesman spokeswoman chancellor secretary government state head leader according
however also opposition alliance army police union
vice deputy former foreign defence defense security service services council committee commission office
department agency parliament court party forces ministry
""".split())
_SENTENCE_STARTERS = set("""
the a an he she it they this that these in on at after before but and his her their its there what when where
who der die das er sie es ein eine am im bei nach vor aber und sein ihr dabei zudem auch
""".split())


@dataclass(frozen=True)
class DraftSentence:
    text: str
    cited: tuple[int, ...]


def split_answer(answer: str) -> list[DraftSentence]:
    """Answer text -> sentences with the [n] numbers each one carries.

    A marker that opens the next sentence (``... Minsk. [2] He ...``) belongs to
    the sentence before it, which is how small models often place them.
    """
    out: list[DraftSentence] = []
    answer = _TRAILING_MARK.sub(r" \2\1", answer.strip())
    for sentence in split_sentences(answer):
        piece = sentence.text
        if not piece:
            continue
        lead = re.match(r"^((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)\s*", piece)
        if lead and out:
            prev = out[-1]
            out[-1] = DraftSentence(prev.text, prev.cited + _numbers_in(lead.group(1)))
            piece = piece[lead.end():]
            if not piece:
                continue
        cited = _numbers_in(piece)
        text = _MARK.sub("", piece).strip()
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if not text or not re.search(r"\w", text):
            continue
        twin = next((i for i, d in enumerate(out) if d.text.lower() == text.lower()), None)
        if twin is None:
            out.append(DraftSentence(text, cited))
        else:
            merged = out[twin].cited + tuple(n for n in cited if n not in out[twin].cited)
            out[twin] = DraftSentence(out[twin].text, merged)
    return out


def _numbers_in(text: str) -> tuple[int, ...]:
    seen: list[int] = []
    for m in _MARK.finditer(text):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            if int(n) not in seen:
                seen.append(int(n))
    return tuple(seen)


def names(text: str) -> set[str]:
    """Capitalised words that are not sentence starters: a cheap proxy for names (folded)."""
    return set(name_words(text))


def name_words(text: str) -> dict[str, str]:
    """The names of ``names``, folded, each with the word as written (the form an embedder knows)."""
    found: dict[str, str] = {}
    for m in _NAME.finditer(text):
        if not text[: m.start()].strip(" \t\"'„“«»("):
            continue
        word = re.sub(r"['’]s$", "", m.group())
        if word.lower() not in _SENTENCE_STARTERS and word.lower() not in _NOT_NAMES:
            found.setdefault(fold(word), word)
    return found


def name_in(name: str, text: str) -> bool:
    """Whether a folded name stands in a text, allowing exonyms and close spellings."""
    folded = fold(text)
    variants = {name, *(fold(x) for x in EXONYMS.get(name, ()))}
    if any(v in folded for v in variants):
        return True
    words = set(re.findall(r"\w+", folded))
    return any(difflib.SequenceMatcher(None, name, w).ratio() >= 0.8 for w in words if abs(len(w) - len(name)) <= 3)


@dataclass(frozen=True)
class Verdict:
    sentence: AnswerSentence
    reason: str = ""
    wrong_person: bool = False


@dataclass
class CheckCosts:
    """Seconds spent in each kind of check for one answer, so their price can be reported."""

    rules_s: float = 0.0
    embedding_s: float = 0.0
    judge_s: float = 0.0
    judge_calls: int = 0

    def as_dict(self) -> dict[str, float]:
        return {"rules_s": self.rules_s, "embedding_s": self.embedding_s, "llm_judge_s": self.judge_s,
                "llm_judge_calls": float(self.judge_calls)}


class CitationChecker:
    """Decides, per answer sentence, which evidence supports it.

    ``similarity`` maps (claims, evidence) to a cosine matrix; the
    threshold was calibrated on hand-labelled claim/passage pairs. With a
    ``judge`` (the local LLM answering yes/no), similarity only shortlists and
    the judge decides, unless the similarity alone is ``strong_threshold`` or
    more (0.67: 90% precision on the labelled pairs), which overrides the
    judge's false negatives. A claim
    that clears no citation's threshold may still be re-attributed to the single
    evidence sentence closest to it, if that one clears ``fallback_threshold``:
    pronouns ("He also promised ...") lower the similarity of true claims. The
    judge reads a pronoun-led claim after the question, on its own citations and
    on a re-attribution alike: "They agreed ..." is judged as an answer to
    "what was agreed in February 2021?", not as a free-floating statement.
    A claim's numbers must stand in the quoted sentence itself: the judge,
    shown the sentence before as context, took "Tikhanovskaya received 80.1
    percent" as stated by "the opposition calls Tikhanovskaya the winner",
    after "the head of state got 80.1 percent". Its names must stand in the
    source passage: spelled alike, or, through
    ``translated`` (``rag.wordmatch``), as their translation ("France" for
    "Frankreich").
    """

    def __init__(self, similarity: Callable[[Sequence[str], Sequence[Evidence]], np.ndarray],
                 threshold: float = 0.55, drop_unsupported: bool = True, fallback_threshold: float = 0.42,
                 judge: Callable[[str, str], bool] | None = None, strong_threshold: float = 0.67,
                 corroborate: int = 2, translated: Callable[[str, str], bool] | None = None,
                 documents: Callable[[str], str] | None = None) -> None:
        self.similarity = similarity
        self.documents = documents
        self.translated = translated
        self.corroborate = corroborate
        self.threshold = threshold
        self.fallback_threshold = fallback_threshold
        self.judge = judge
        self.strong_threshold = strong_threshold
        self.drop_unsupported = drop_unsupported

    def check(self, drafts: list[DraftSentence], evidence: Sequence[Evidence], question: str,
              costs: CheckCosts | None = None) -> list[Verdict]:
        """One verdict per draft sentence; ``costs``, when given, receives the time each check took."""
        if not drafts:
            return []
        if not evidence:
            return [Verdict(AnswerSentence(d.text, (), False), "no sources") for d in drafts]
        costs = costs if costs is not None else CheckCosts()
        started, before = time.perf_counter(), costs.embedding_s + costs.judge_s
        by_n = {e.n: e for e in evidence}
        drafts = [drop_invented_years(join_split_numbers(d, evidence), evidence, question) for d in drafts]
        t = time.perf_counter()
        sims = self.similarity([with_context(d.text, question) for d in drafts], evidence)
        costs.embedding_s += time.perf_counter() - t
        verdicts = [self._check_one(d, sims[i], evidence, by_n, question, costs) for i, d in enumerate(drafts)]
        costs.rules_s += time.perf_counter() - started - (costs.embedding_s + costs.judge_s - before)
        return verdicts

    def _judged(self, claim: str, text: str, costs: CheckCosts) -> bool:
        assert self.judge is not None
        t = time.perf_counter()
        try:
            return self.judge(claim, text)
        finally:
            costs.judge_s += time.perf_counter() - t
            costs.judge_calls += 1

    def _supported(self, claim: str, e: Evidence, costs: CheckCosts) -> bool:
        """The judge on the quoted sentence and, if it says no, on the whole passage.

        The quote alone misses what its neighbours say ("Das kündigte Lawrow
        an" needs the sentence before and after); the passage is what a
        reader opens, and what the judge was validated on.
        """
        quoted = judged_text(e)
        if self._judged(claim, quoted, costs):
            return True
        return e.passage.text != quoted and self._judged(claim, e.passage.text, costs)

    def _check_one(self, draft: DraftSentence, sims: np.ndarray, evidence: Sequence[Evidence],
                   by_n: dict[int, Evidence], question: str, costs: CheckCosts) -> Verdict:
        claim_numbers = numbers(draft.text) - numbers(question)
        written = name_words(draft.text)
        claim_names = set(written) - names(question) if detect_language(draft.text) == "en" else set()
        scores = {e.n: float(sims[j]) for j, e in enumerate(evidence)}

        def named(x: str, text: str) -> bool:
            return name_in(x, text) or (self.translated is not None and self.translated(written[x], text))

        def carries(n: int) -> set[str]:
            quoted, src = numbers(by_n[n].sentence.text), by_n[n].passage.text
            return (claim_numbers & quoted) | {x for x in claim_names if named(x, src)}

        needed = claim_numbers | claim_names
        if wrong_holder := self._wrong_office_holder(draft.text, evidence, question):
            return Verdict(AnswerSentence(draft.text, (), False), wrong_holder, wrong_person=True)
        floor = self.fallback_threshold if self.judge else self.threshold
        close = [n for n in dict.fromkeys(draft.cited) if n in by_n
                 and (scores[n] >= floor or self._numbers_quoted(claim_numbers, by_n[n]))]
        claim = with_context(draft.text, question) if _PRONOUN_START.match(draft.text) else draft.text
        if self.judge:
            close = [n for n in close if scores[n] >= self.strong_threshold or self._supported(claim, by_n[n], costs)]
        carried = {n: carries(n) for n in close}
        supported = [n for n in close if carried[n] or not needed]
        if needed - set().union(*carried.values()):
            supported = []
        if not supported:
            ranked = sorted(by_n, key=lambda n: -scores[n])[: 2 if self.judge else 1]
            for best in ranked:
                if n_ok := (carries(best) == needed and scores[best] >= self.fallback_threshold):
                    n_ok = self._supported(claim, by_n[best], costs) if self.judge else n_ok
                if n_ok:
                    supported = [best]
                    break
        if supported and self.corroborate:
            supported += self._corroborating(claim, supported, scores, by_n, carries, needed, costs)
        reason = ""
        if not supported:
            texts = [e.passage.text for e in evidence]
            if claim_numbers and not any(claim_numbers <= numbers(t) for t in texts):
                reason = f"number {', '.join(sorted(claim_numbers))} is in no source"
            elif missing := [x for x in claim_names if not any(named(x, t) for t in texts)]:
                reason = f"name {', '.join(sorted(missing))} is in no source"
            else:
                reason = "no source supports this sentence"
        quotes = tuple(by_n[n].sentence.text for n in supported)
        return Verdict(AnswerSentence(draft.text, tuple(supported), bool(supported), quotes), reason)

    def _numbers_quoted(self, claim_numbers: set[str], e: Evidence) -> bool:
        """With a judge, a cited quote that states all of the claim's numbers is judged whatever its similarity.

        "Der 65-Jährige regiert seit 26 Jahren" leaves its subject to the
        sentence before, so "Lukashenko is 65" scores low against it; the
        shared number is the better sign that the judge should read it.
        """
        return self.judge is not None and bool(claim_numbers) and claim_numbers <= numbers(e.sentence.text)

    def _wrong_office_holder(self, claim: str, evidence: Sequence[Evidence], question: str) -> str:
        """Why the claim names the wrong holder of the office the question asks about, or "".

        See ``rag.roles``: the sources (whole articles when ``documents`` is given)
        must put one of the claim's people next to that office.
        """
        role = asked_role(question)
        asked = names(question)
        people = [f for f in dict.fromkeys(fold(w) for w in surnames(claim)) if f not in asked]
        if role is None or not people:
            return ""
        doc_ids = dict.fromkeys(e.passage.doc_id for e in evidence)
        texts = ([self.documents(d) for d in doc_ids] if self.documents is not None
                 else [e.passage.text for e in evidence])
        if any(holds_role(name_in, p, role, texts) for p in people):
            return ""
        return f"no source calls {', '.join(sorted(people))} the {role} the question asks about"

    def _corroborating(self, claim: str, supported: list[int], scores: dict[int, float], by_n: dict[int, Evidence],
                       carries: Callable[[int], set[str]], needed: set[str], costs: CheckCosts) -> list[int]:
        """Other articles' evidence that states the same claim, at most ``corroborate`` of them.

        A reader checking a claim wants every article that makes it, and one article is weak
        evidence that "Putin promised military help" when three report it. Candidates must be
        very close in meaning (``strong_threshold``), carry the claim's numbers and names, and,
        with a judge, be confirmed by it on the quoted sentence.
        """
        docs = {by_n[n].passage.doc_id for n in supported}
        extra: list[int] = []
        for n in sorted(by_n, key=lambda k: -scores[k]):
            if len(extra) >= self.corroborate or scores[n] < self.strong_threshold:
                break
            e = by_n[n]
            if n in supported or e.passage.doc_id in docs or carries(n) != needed:
                continue
            if self.judge is not None and not self._judged(claim, judged_text(e), costs):
                continue
            extra.append(n)
            docs.add(e.passage.doc_id)
        return extra


_DAY_MONTH = rf"\b(?:(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}\.?\s+(?:{MONTHS}))"


def drop_invented_years(draft: DraftSentence, evidence: Sequence[Evidence], question: str) -> DraftSentence:
    """Remove a year that no source states from a date ("August 9, 2021" -> "August 9").

    German reports say "am 9. August" and the small model likes to add a year;
    the rest of the sentence is often right, so the year goes, not the sentence.
    """
    known = numbers(question).union(*(numbers(e.passage.text) for e in evidence))
    invented = numbers(draft.text) - known
    if not invented or not all(re.fullmatch(r"(19|20)\d\d", x) for x in invented):
        return draft
    text = draft.text
    for year in invented:
        text = re.sub(rf"({_DAY_MONTH}),?\s+{year}\b", r"\1", text)
    if numbers(text) - known:
        return draft
    return DraftSentence(text, draft.cited)


def join_split_numbers(draft: DraftSentence, evidence: Sequence[Evidence]) -> DraftSentence:
    """Rejoin a number the model split at its thousands separator ("200, 000" -> "200,000").

    Only when the joined number stands in a source, so "August 9, 200 people" stays as it is.
    """
    known = set().union(*(numbers(e.passage.text) for e in evidence)) if evidence else set()

    def join(m: re.Match[str]) -> str:
        joined = f"{m.group(1)}{m.group(2)}{m.group(3)}"
        return joined if numbers(joined) <= known and not numbers(m.group(3)) <= known else m.group(0)

    text = re.sub(r"(?<![\d.,])(\d{1,3})([.,]) (\d{3})(?![\d])", join, draft.text)
    return draft if text == draft.text else DraftSentence(text, draft.cited)


def judged_text(e: Evidence) -> str:
    """What the judge reads for a citation: the quoted sentence, after the one before it.

    The citation's quote is what the reader checks, so it, not the whole
    passage, must carry the claim; the sentence before resolves its pronouns.
    """
    sents = e.passage.sentences
    i = next((k for k, s in enumerate(sents) if s.start == e.sentence.start), 0)
    before = sents[i - 1].text + " " if i > 0 else ""
    return before + e.sentence.text


def with_context(claim: str, question: str) -> str:
    """A short or pronoun-led claim is embedded with the question it answers.

    "40 trucks." or "He also promised military help." mean little alone; with
    the question in front they can be compared with a source sentence.
    """
    if len(claim.split()) < 6 or _PRONOUN_START.match(claim):
        return f"{question} {claim}"
    return claim


def build_citations(sentences: Sequence[AnswerSentence], evidence: Sequence[Evidence],
                    documents: Mapping[str, Document]) -> list[Citation]:
    """One citation per evidence sentence used, keeping the number the model saw.

    Keeping the numbers means the answer streamed to the user and the checked
    answer refer to the same sources.
    """
    by_n = {e.n: e for e in evidence}
    used = sorted({n for s in sentences for n in s.citations})
    citations = []
    for n in used:
        e = by_n[n]
        doc = documents[e.passage.doc_id]
        citations.append(Citation(
            n=n, doc_id=doc.doc_id, title=doc.title, date=doc.date, source=doc.source,
            passage=e.passage.text, quote=e.sentence.text, passage_id=e.passage.passage_id,
            quote_start=e.sentence.start, quote_end=e.sentence.end,
        ))
    return citations


def render(sentences: Sequence[AnswerSentence], mark_unsupported: str = "",
           leads: Sequence[str] = ()) -> str:
    """The answer text: each sentence with its citation marks, after its lead (see ``rag.attribution``)."""
    parts = []
    for i, s in enumerate(sentences):
        marks = "".join(f"[{n}]" for n in s.citations)
        text = s.text
        if marks:
            end = re.search(r"[.!?]?$", text)
            cut = end.start() if end else len(text)
            text = f"{text[:cut]} {marks}{text[cut:]}"
        elif not s.supported and mark_unsupported:
            text = f"{text} {mark_unsupported}"
        parts.append((leads[i] if i < len(leads) else "") + text)
    return " ".join(parts)
