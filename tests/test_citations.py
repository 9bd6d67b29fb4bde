"""Citation markers, support checks and re-attribution, with a similarity function the test controls."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from rag.citations import (
    CitationChecker,
    DraftSentence,
    build_citations,
    join_split_numbers,
    names,
    render,
    split_answer,
)
from rag.types import AnswerSentence, Document, Evidence, Passage, Sentence

# ---------------------------------------------------------------- split_answer


@pytest.mark.parametrize(("answer", "expected"), [
    ("He got 80.1 percent [1].", [("He got 80.1 percent.", (1,))]),
    ("He got 80.1 percent [1, 2].", [("He got 80.1 percent.", (1, 2))]),
    ("He got 80.1 percent [1; 2].", [("He got 80.1 percent.", (1, 2))]),
    ("He got 80.1 percent [1][3].", [("He got 80.1 percent.", (1, 3))]),
    ("He got 80.1 percent [1] [3] [1].", [("He got 80.1 percent.", (1, 3))]),
    ("He got 80.1 percent. [2]", [("He got 80.1 percent.", (2,))]),
    ("No marker here.", [("No marker here.", ())]),
    ("Putin promised help [1]. Lukashenko met him in Sochi [2][3].",
     [("Putin promised help.", (1,)), ("Lukashenko met him in Sochi.", (2, 3))]),
    ("Er erhielt 80,1 Prozent [1]. Die Wahl war im August [2].",
     [("Er erhielt 80,1 Prozent.", (1,)), ("Die Wahl war im August.", (2,))]),
])
def test_split_answer(answer: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    assert split_answer(answer) == [DraftSentence(t, c) for t, c in expected]


def test_marker_opening_the_next_line_belongs_to_the_sentence_before() -> None:
    got = split_answer("He met Putin in Sochi.\n[2] He promised help [1].")
    assert got == [DraftSentence("He met Putin in Sochi.", (2,)), DraftSentence("He promised help.", (1,))]


@pytest.mark.parametrize("answer", [
    "He met Putin in Sochi. [2] He promised help [1].",
    "He met Putin in Sochi.[2] He promised help [1].",
])
def test_marker_opening_the_next_sentence_belongs_to_the_sentence_before(answer: str) -> None:
    assert split_answer(answer) == [DraftSentence("He met Putin in Sochi.", (2,)),
                                    DraftSentence("He promised help.", (1,))]


def test_german_date_in_an_answer_is_not_split() -> None:
    got = split_answer("Er erhielt 80,1 Prozent [1]. Die Wahl war am 9. August [2].")
    assert got == [DraftSentence("Er erhielt 80,1 Prozent.", (1,)), DraftSentence("Die Wahl war am 9. August.", (2,))]


def test_repeated_sentences_are_merged_with_their_citations() -> None:
    got = split_answer("Putin promised help [1]. Sochi was the venue [3]. Putin promised help [2].")
    assert got == [DraftSentence("Putin promised help.", (1, 2)), DraftSentence("Sochi was the venue.", (3,))]


def test_marker_only_and_empty_pieces_are_dropped() -> None:
    assert split_answer("") == []
    assert split_answer("[1]") == []
    assert split_answer("Eins [1].\n\n[2]\n\n") == [DraftSentence("Eins.", (1, 2))]


def test_names() -> None:
    assert names("The talks between Putin and Lukaschenko were in Sotschi.") == {"putin", "lukashenko", "sochi"}


# ---------------------------------------------------------------- CitationChecker

SOURCES = [
    ("001", "Der Staatschef ließ sich mit 80,1 Prozent der Stimmen für eine sechste Amtszeit bestätigen."),
    ("002", "Nach Angaben des Kreml findet das Treffen zwischen Lukaschenko und Putin in Sotschi statt."),
    ("000", "In der Hauptstadt protestierten am Sonntag rund 200.000 Menschen gegen den Präsidenten."),
]


def make_evidence() -> list[Evidence]:
    out = []
    for i, (doc, text) in enumerate(SOURCES):
        sent = Sentence(text, 100, 100 + len(text))
        passage = Passage(i, f"{doc}_x", 0, text, 100, 100 + len(text), (sent,))
        out.append(Evidence(n=i + 1, passage=passage, sentence=sent, score=0.5, sentence_id=i))
    return out


def documents() -> dict[str, Document]:
    return {f"{d}_x": Document(f"{d}_x", f"/a/{d}.txt", "", f"Titel {d}", "2020-09", "dpa-AFX")
            for d, _ in SOURCES}


class Table:
    """similarity(claims, evidence): a fixed score per (claim text, evidence number), else ``default``.

    Short or pronoun-led claims reach the similarity with the question in front
    (``with_context``); the table keys on the claim alone.
    """

    def __init__(self, scores: dict[tuple[str, int], float], default: float = 0.0) -> None:
        self.scores = scores
        self.default = default
        self.calls = 0

    def __call__(self, claims: Sequence[str], evidence: Sequence[Evidence]) -> np.ndarray:
        self.calls += 1
        claims = [c.removeprefix("Q? ") for c in claims]
        return np.array([[self.scores.get((c, e.n), self.default) for e in evidence] for c in claims],
                        dtype=np.float32).reshape(len(claims), len(evidence))


def check(answer: str, sims: dict[tuple[str, int], float], question: str = "Q?", **kw: object):
    checker = CitationChecker(Table(sims), threshold=0.55, fallback_threshold=0.42, **kw)  # type: ignore[arg-type]
    return checker.check(split_answer(answer), make_evidence(), question)


def test_supported_sentence_keeps_its_citation() -> None:
    claim = "Lukashenko got 80.1 percent."
    [v] = check("Lukashenko got 80.1 percent [1].", {(claim, 1): 0.8})
    assert v.sentence.supported and v.sentence.citations == (1,)
    assert v.sentence.evidence == (SOURCES[0][1],)
    assert v.reason == ""


def test_out_of_range_numbers_are_dropped() -> None:
    claim = "Lukashenko got 80.1 percent."
    [v] = check("Lukashenko got 80.1 percent [1][7][0].", {(claim, 1): 0.8})
    assert v.sentence.citations == (1,)


def test_only_out_of_range_numbers_and_nothing_similar_is_unsupported() -> None:
    [v] = check("Lukashenko got 80.1 percent [9].", {})
    assert not v.sentence.supported and v.sentence.citations == ()
    assert v.reason == "no source supports this sentence"


def test_number_missing_from_the_cited_source_is_unsupported() -> None:
    claim = "Lukashenko got 85 percent."
    # the model's claim is very close in meaning to source 1, but source 1 says 80,1, not 85
    [v] = check("Lukashenko got 85 percent [1].", {(claim, 1): 0.95, (claim, 2): 0.5, (claim, 3): 0.5})
    assert not v.sentence.supported
    assert v.sentence.citations == () and v.sentence.evidence == ()
    assert "85" in v.reason


def test_numbers_are_compared_across_spellings() -> None:
    claim = "About 200,000 people protested."
    [v] = check("About 200,000 people protested [3].", {(claim, 3): 0.7})
    assert v.sentence.supported and v.sentence.citations == (3,)


def test_numbers_from_the_question_do_not_need_a_source() -> None:
    claim = "In 2020 the meeting was in Sochi."
    sims = {(claim, 2): 0.8}
    [v] = check("In 2020 the meeting was in Sochi [2].", sims, question="Where did they meet in 2020?")
    assert v.sentence.supported
    [v] = check("In 2020 the meeting was in Sochi [2].", sims, question="Where did they meet?")
    assert not v.sentence.supported and "2020" in v.reason


def test_correct_sentence_citing_the_wrong_source_is_reattributed() -> None:
    claim = "They met in Sochi."
    [v] = check("They met in Sochi [1].", {(claim, 1): 0.1, (claim, 2): 0.9, (claim, 3): 0.2})
    assert v.sentence.supported
    assert v.sentence.citations == (2,)
    assert v.sentence.evidence == (SOURCES[1][1],)


def test_reattribution_needs_the_fallback_threshold() -> None:
    claim = "They met in Sochi."
    [v] = check("They met in Sochi [1].", {(claim, 1): 0.1, (claim, 2): 0.41})
    assert not v.sentence.supported
    [v] = check("They met in Sochi [1].", {(claim, 1): 0.1, (claim, 2): 0.43})
    assert v.sentence.citations == (2,)


def test_uncited_sentence_is_attributed_when_close_enough() -> None:
    claim = "They met in Sochi."
    [v] = check("They met in Sochi.", {(claim, 2): 0.7})
    assert v.sentence.citations == (2,)


def test_below_threshold_citation_is_not_kept() -> None:
    claim = "They met in Sochi."
    # cited [2] at 0.50 < 0.55, and the fallback picks the best evidence (2) only because 0.50 >= 0.42
    [v] = check("They met in Sochi [2].", {(claim, 2): 0.50, (claim, 3): 0.3})
    assert v.sentence.citations == (2,)
    [v] = check("They met in Sochi [2].", {(claim, 2): 0.40, (claim, 3): 0.3})
    assert not v.sentence.supported


def test_several_citations_keep_only_the_supporting_ones() -> None:
    claim = "They met in Sochi, where 80.1 percent were announced."
    [v] = check("They met in Sochi, where 80.1 percent were announced [1][2][3].",
                {(claim, 1): 0.7, (claim, 2): 0.7, (claim, 3): 0.7})
    # source 1 carries 80.1 and source 2 Sochi; source 3 carries neither and is dropped
    assert v.sentence.citations == (1, 2)
    claim = "The result was 80.1 percent."
    [v] = check("The result was 80.1 percent [1][2].", {(claim, 1): 0.7, (claim, 2): 0.7})
    # source 2 does not state 80.1, so only source 1 can carry the number
    assert v.sentence.citations == (1,)


def test_each_sentence_is_checked_on_its_own() -> None:
    a, b = "They met in Sochi.", "Lukashenko got 99 percent."
    verdicts = check("They met in Sochi [2]. Lukashenko got 99 percent [1].", {(a, 2): 0.9, (b, 1): 0.9})
    assert [v.sentence.supported for v in verdicts] == [True, False]


def test_check_with_no_drafts_calls_nothing() -> None:
    table = Table({})
    assert CitationChecker(table).check([], make_evidence(), "Q") == []
    assert table.calls == 0


def test_check_without_evidence_marks_everything_unsupported() -> None:
    [v] = CitationChecker(Table({})).check([DraftSentence("They met in Sochi.", (1,))], [], "Q")
    assert not v.sentence.supported


# ---------------------------------------------------------------- build_citations / render


def test_build_citations_come_from_the_evidence() -> None:
    claim_a, claim_b = "They met in Sochi.", "Lukashenko got 80.1 percent."
    verdicts = check("They met in Sochi [2]. Lukashenko got 80.1 percent [1].", {(claim_a, 2): 0.9, (claim_b, 1): 0.9})
    ev = make_evidence()
    cites = build_citations([v.sentence for v in verdicts], ev, documents())
    assert [c.n for c in cites] == [1, 2]
    for c in cites:
        e = ev[c.n - 1]
        assert c.doc_id == e.passage.doc_id and c.quote == e.sentence.text and c.passage == e.passage.text
        assert (c.quote_start, c.quote_end) == (e.sentence.start, e.sentence.end)
        assert c.title == f"Titel {c.doc_id[:3]}" and (c.date, c.source) == ("2020-09", "dpa-AFX")


def test_render() -> None:
    sentences = [
        AnswerSentence("They met in Sochi.", (2,), True),
        AnswerSentence("It was cold", (1, 3), True),
        AnswerSentence("Made up.", (), False),
    ]
    assert render(sentences) == "They met in Sochi [2]. It was cold [1][3] Made up."
    assert render(sentences, mark_unsupported="[unsupported]").endswith("Made up. [unsupported]")


def test_invented_year_is_removed_not_the_sentence() -> None:
    claim = "The election was held on August 9."
    [v] = check("The election was held on August 9, 2021 [1].", {(claim, 1): 0.8},
                question="Was the election on August 9?")
    assert v.sentence.text == claim
    assert v.sentence.citations == (1,)


def test_invented_year_next_to_an_invented_count_keeps_the_sentence_unsupported() -> None:
    [v] = check("In 2021, 85 percent voted for him [1].", {("In 2021, 85 percent voted for him.", 1): 0.8})
    assert not v.sentence.supported


def test_a_number_split_at_its_thousands_separator_is_rejoined_and_checked() -> None:
    claim = "About 200,000 people protested."
    [v] = check("About 200, 000 people protested [3].", {(claim, 3): 0.8})
    assert v.sentence.supported and v.sentence.text == claim and v.sentence.citations == (3,)
    kept = join_split_numbers(DraftSentence("On August 9, 200 people came.", (1,)), make_evidence())
    assert kept.text == "On August 9, 200 people came."


def _passage_evidence() -> list[Evidence]:
    """One evidence sentence whose passage says more than the sentence and the one before it."""
    texts = ["Belarus bekommt Besuch.", "Das kündigte Außenminister Sergej Lawrow an.",
             "Der Gast ist Regierungschef Michail Mischustin."]
    sents, start = [], 0
    for t in texts:
        sents.append(Sentence(t, start, start + len(t)))
        start += len(t) + 1
    passage = Passage(0, "001_x", 0, " ".join(texts), 0, start - 1, tuple(sents))
    return [Evidence(n=1, passage=passage, sentence=sents[1], score=0.6, sentence_id=1)]


def test_judge_gets_a_second_look_at_the_whole_passage() -> None:
    asked: list[str] = []

    def judge(claim: str, text: str) -> bool:
        asked.append(text)
        return "Mischustin" in text

    claim = "Sergej Lawrow announced the visit of Prime Minister Mischustin."
    checker = CitationChecker(Table({(claim, 1): 0.5}), threshold=0.55, judge=judge)
    [v] = checker.check([DraftSentence(claim, (1,))], _passage_evidence(), "Q?")
    assert v.sentence.supported and v.sentence.citations == (1,)
    assert asked == ["Belarus bekommt Besuch. Das kündigte Außenminister Sergej Lawrow an.",
                     _passage_evidence()[0].passage.text]


def test_a_judge_that_says_no_twice_leaves_the_sentence_unsupported() -> None:
    claim = "Sergej Lawrow announced the visit of Prime Minister Mischustin."
    checker = CitationChecker(Table({(claim, 1): 0.5}), threshold=0.55, judge=lambda c, t: False)
    [v] = checker.check([DraftSentence(claim, (1,))], _passage_evidence(), "Q?")
    assert not v.sentence.supported


def test_title_and_institution_words_are_not_names() -> None:
    found = names("He met the Deputy Head of the Russian Security Council, former Prime Minister Dmitri Medvedev.")
    assert {"dmitri", "medvedev"} <= found
    assert not found & {"security", "council", "deputy", "former", "prime", "minister", "head"}


def test_other_articles_stating_the_same_claim_are_cited_too() -> None:
    """Evidence from other articles that is very close and confirmed by the judge joins the citation;
    a second passage of an already cited article, a rejected or a merely similar one does not."""
    claim = "Putin promised military help."
    evidence = []
    for n, doc in enumerate(["000_x", "000_x", "001_x", "002_x"], start=1):
        text = f"Putin sicherte militärische Hilfe zu (Meldung {n})."
        sent = Sentence(text, 0, len(text))
        evidence.append(Evidence(n=n, passage=Passage(n, doc, 0, text, 0, len(text), (sent,)), sentence=sent,
                                 score=0.5, sentence_id=n))
    asked: list[int] = []

    def judge(c: str, text: str) -> bool:
        n = next(e.n for e in evidence if e.sentence.text == text)
        asked.append(n)
        return n != 4

    sims = {(claim, 1): 0.9, (claim, 2): 0.85, (claim, 3): 0.8, (claim, 4): 0.75}
    checker = CitationChecker(Table(sims), threshold=0.55, judge=judge, strong_threshold=0.67, corroborate=2)
    [v] = checker.check([DraftSentence(claim, (1,))], evidence, "Q?")
    assert v.sentence.citations == (1, 3)
    assert asked == [3, 4], "the cited claim is strong enough alone; article 000's second passage is not asked"
    plain = CitationChecker(Table(sims), threshold=0.55, judge=judge, strong_threshold=0.67, corroborate=0)
    assert plain.check([DraftSentence(claim, (1,))], evidence, "Q?")[0].sentence.citations == (1,)
    weak = CitationChecker(Table({(claim, 1): 0.9, (claim, 3): 0.6}), threshold=0.55, judge=judge, corroborate=2)
    assert weak.check([DraftSentence(claim, (1,))], evidence, "Q?")[0].sentence.citations == (1,)


def test_a_reattributed_pronoun_claim_is_judged_with_its_question() -> None:
    """"They agreed ..." with a wrong citation must not be re-attributed to evidence the judge accepts
    only when it forgets which meeting the question asks about."""
    claim = "They agreed that Mischustin would visit Belarus."
    question = "Q?"
    asked: list[str] = []

    def judge(c: str, text: str) -> bool:
        asked.append(c)
        return not c.startswith(question)

    checker = CitationChecker(Table({(claim, 1): 0.5}), threshold=0.55, judge=judge)
    [v] = checker.check([DraftSentence(claim, (2,))], _passage_evidence(), question)
    assert not v.sentence.supported
    assert asked and all(c == f"{question} {claim}" for c in asked)


def test_a_claims_number_must_stand_in_the_quoted_sentence_not_only_beside_it() -> None:
    """The reader checks the quote: "She got 80.1 percent" is not cited to "The opposition calls her the
    winner" because the sentence before it gives someone else's 80.1 percent, even if the judge says yes;
    the citation goes to the sentence stating the number, where the judge's verdict is on the right text."""
    texts = ["Der Staatschef ließ sich mit 80,1 Prozent bestätigen.",
             "Die Opposition hält dagegen Swetlana Tichanowskaja als die wahre Siegerin."]
    sents = (Sentence(texts[0], 0, len(texts[0])), Sentence(texts[1], len(texts[0]) + 1, len(" ".join(texts))))
    passage = Passage(0, "001_x", 0, " ".join(texts), 0, len(" ".join(texts)), sents)
    evidence = [Evidence(n=1, passage=passage, sentence=sents[1], score=0.6, sentence_id=1),
                Evidence(n=2, passage=passage, sentence=sents[0], score=0.5, sentence_id=0)]
    claim = "Svetlana Tikhanovskaya officially received 80.1 percent of the vote."
    checker = CitationChecker(Table({(claim, 1): 0.6, (claim, 2): 0.5}), threshold=0.55, judge=lambda c, t: True)
    [v] = checker.check([DraftSentence(claim, (1,))], evidence, "Q?")
    assert v.sentence.supported and v.sentence.citations == (2,)


def _age_evidence() -> list[Evidence]:
    """An age whose subject is left to the sentence before, which is in another passage."""
    text = "Der 65-Jährige regiert das Land seit 26 Jahren autoritär."
    sent = Sentence(text, 0, len(text))
    return [Evidence(n=1, passage=Passage(0, "000_x", 0, text, 0, len(text), (sent,)), sentence=sent, score=0.4)]


def test_a_quote_stating_the_claims_numbers_is_judged_even_when_its_similarity_is_low() -> None:
    """"Lukashenko is 65" scores 0.2 against "Der 65-Jährige regiert ...": too low for the similarity floor,
    but the shared number sends it to the judge, whose verdict decides."""
    claim = "Lukashenko is 65 years old."
    asked: list[str] = []

    def judge(c: str, text: str) -> bool:
        asked.append(c)
        return True

    checker = CitationChecker(Table({(claim, 1): 0.2}), threshold=0.55, fallback_threshold=0.42, judge=judge)
    [v] = checker.check([DraftSentence(claim, (1,))], _age_evidence(), "How old is Lukashenko?")
    assert v.sentence.supported and v.sentence.citations == (1,) and asked
    no = CitationChecker(Table({(claim, 1): 0.2}), threshold=0.55, fallback_threshold=0.42, judge=lambda c, t: False)
    [v] = no.check([DraftSentence(claim, (1,))], _age_evidence(), "How old is Lukashenko?")
    assert not v.sentence.supported


def test_a_low_similarity_quote_without_the_claims_numbers_is_not_judged() -> None:
    asked: list[str] = []

    def judge(c: str, text: str) -> bool:
        asked.append(c)
        return True

    for claim in ("Lukashenko is 66 years old.", "Lukashenko rules the country."):
        checker = CitationChecker(Table({(claim, 1): 0.2}), threshold=0.55, fallback_threshold=0.42, judge=judge)
        [v] = checker.check([DraftSentence(claim, (1,))], _age_evidence(), "How old is he?")
        assert not v.sentence.supported
    assert asked == []
    no_judge = CitationChecker(Table({("Lukashenko is 65 years old.", 1): 0.2}), threshold=0.55)
    [v] = no_judge.check([DraftSentence("Lukashenko is 65 years old.", (1,))], _age_evidence(), "How old is he?")
    assert not v.sentence.supported
