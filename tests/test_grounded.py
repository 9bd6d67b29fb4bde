"""The grounded answer design: whole passages in, each answer sentence tied to the quote stating its new facts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from fakes import ScriptedGenerator, echo_matching

from rag.answer_kind import expected_fact
from rag.answer_text import DraftSentence
from rag.checks import REGISTRY, Claim, Context, Grounding, enabled
from rag.checks.fact_kind import fact_kind
from rag.errors import InputError
from rag.grounded import GroundedChecker, new_facts
from rag.pipeline import Assistant, Corroborated, Done, Retrieved
from rag.prompt import says_nothing
from rag.types import Evidence, Passage, Sentence

VOTE = "Der Staatschef ließ sich mit 80,1 Prozent der Stimmen für eine sechste Amtszeit bestätigen."
OTHER = "Die Opposition hält dagegen Swetlana Tichanowskaja als die wahre Siegerin."


def passage(pid: int, *texts: str) -> Passage:
    sents, start = [], 0
    for t in texts:
        sents.append(Sentence(t, start, start + len(t)))
        start += len(t) + 1
    return Passage(pid, f"d{pid}", 0, " ".join(texts), 0, start - 1, tuple(sents))


def evidence(*passages: Passage) -> list[Evidence]:
    return [Evidence(i + 1, p, p.sentences[0], 1.0) for i, p in enumerate(passages)]


def grounded(checker: GroundedChecker, text: str, cited: tuple[int, ...], ev: list[Evidence], question: str,
             off: frozenset[str] = frozenset(), lang: str = "en") -> tuple[Grounding, bool, Context]:
    ctx = checker.context(question, lang, ev)
    out, answers = checker.check([DraftSentence(text, cited)], ev, ctx, off)
    return out[0], answers, ctx


def test_new_facts_are_what_the_claim_adds_to_its_question() -> None:
    nums, names = new_facts("Cenk Tosun scored both goals in the 2-1 win over Sweden.",
                            "Who scored both goals in Turkey's 2-1 win over Sweden?", "en")
    assert nums == set() and names == {"tosun"}
    nums, names = new_facts("Lukashenko got 80.1 percent of the votes.", "How many votes did Lukashenko get?", "en")
    assert nums == {"80.1"} and names == set()


def test_the_quote_is_the_sentence_stating_the_new_number_even_when_the_model_cites_another_passage() -> None:
    ev = evidence(passage(1, "Die Proteste gehen weiter."), passage(2, OTHER, VOTE))
    g, answers, ctx = grounded(GroundedChecker(), "He got 80.1 percent of the vote.", (1,), ev,
                               "What share of the vote did Lukashenko get?")
    assert g.evidence is not None and g.evidence.n == 2 and answers
    assert g.quote is not None and g.quote.text == VOTE
    assert ctx.costs["numbers_in_quote_calls"] >= 1 and "numbers_in_quote_s" in ctx.costs


def test_a_number_in_no_source_sentence_grounds_nowhere() -> None:
    ev = evidence(passage(1, OTHER, VOTE))
    g, answers, _ = grounded(GroundedChecker(), "He got 70.5 percent of the vote.", (1,), ev, "What share?")
    assert g.evidence is None and "70.5" in g.reason and not answers


def test_numbers_no_one_sentence_states_together_are_cited_to_two_quotes() -> None:
    date, vote = "Die Wahl fand am 9. August statt.", "Er erhielt 80,1 Prozent."
    ev = evidence(passage(1, date, "Die Proteste gehen weiter."), passage(2, vote))
    g, _, _ = grounded(GroundedChecker(), "On August 9 he got 80.1 percent.", (1,), ev, "q?")
    assert [q.text for _, q in g.quotes()] == [date, vote] and g.grounded_by == 2
    g, _, _ = grounded(GroundedChecker(), "On August 9 he got 80.1 percent and 12 seats.", (1,), ev, "q?")
    assert g.evidence is None, "12 stands in no sentence"
    g, _, _ = grounded(GroundedChecker(corroborate=0), "On August 9 he got 80.1 percent.", (1,), ev, "q?",
                       off=frozenset({"numbers_in_quote"}))
    assert g.evidence is not None and not g.also, "with the rule off, one passage grounds the claim"


def test_numbers_are_compared_across_spellings_and_the_questions_own_need_no_source() -> None:
    crowd = "In der Hauptstadt protestierten am Sonntag rund 200.000 Menschen gegen den Präsidenten."
    ev = evidence(passage(1, OTHER), passage(2, crowd))
    g, _, _ = grounded(GroundedChecker(), "About 200,000 people protested.", (2,), ev, "How many protested?")
    assert g.quote is not None and g.quote.text == crowd
    g, _, _ = grounded(GroundedChecker(), "In 2020, 200,000 people protested.", (), ev, "How many protested in 2020?")
    assert g.evidence is not None
    g, _, _ = grounded(GroundedChecker(), "In 2020, 200,000 people protested.", (), ev, "How many protested?")
    assert g.evidence is None and "2020" in g.reason


def test_each_sentence_is_grounded_on_its_own_and_nothing_grounds_without_sources() -> None:
    ev = evidence(passage(1, OTHER, VOTE))
    checker = GroundedChecker()
    drafts = [DraftSentence("He got 80.1 percent.", (1, 7, 0)), DraftSentence("He got 99 percent.", (1,))]
    out, answers = checker.check(drafts, ev, checker.context("What share?", "en", ev))
    assert [g.evidence is not None for g in out] == [True, False] and answers
    assert out[0].evidence is not None and out[0].evidence.n == 1, "numbers of no source shown are ignored"
    out, answers = checker.check(drafts[:1], [], checker.context("What share?", "en", []))
    assert out[0].evidence is None and not answers


def test_other_articles_stating_the_same_claim_are_cited_too() -> None:
    """A quote from another article that the same checks accept joins the citation; a second passage of the
    article already cited, one the judge rejects, or any beyond ``corroborate`` does not."""
    passages = [Passage(n, doc, 0, f"Putin sicherte militärische Hilfe zu (Meldung {n}).", 0, 0,
                        (Sentence(f"Putin sicherte militärische Hilfe zu (Meldung {n}).", 0, 47),))
                for n, doc in enumerate(["000_x", "000_x", "001_x", "002_x"], start=1)]
    asked: list[int] = []

    def judge(q: str, a: str, source: str) -> bool:
        n = int(source.split("Meldung ")[1][0])
        asked.append(n)
        return n != 4

    ev = evidence(*passages)
    checker = GroundedChecker(judge=judge, corroborate=2, checks="+answer_judge")
    g, _, _ = grounded(checker, "Putin promised military help.", (1,), ev, "What did Putin promise?")
    assert [e.n for e, _ in g.quotes()] == [1, 3]
    assert asked == [1, 3, 4], "article 000's second passage is not asked about"
    checker = GroundedChecker(judge=judge, corroborate=0, checks="+answer_judge")
    g, _, _ = grounded(checker, "Putin promised military help.", (1,), ev, "What did Putin promise?")
    assert [e.n for e, _ in g.quotes()] == [1]


def test_a_further_quote_must_name_the_claims_new_names_itself() -> None:
    """A corroborating quote must state the claim's new names that the first quote states."""
    def one(pid: int, doc: str, *texts: str) -> Passage:
        return dataclasses.replace(passage(pid, *texts), doc_id=doc)

    first = one(1, "001_x", "Das Treffen findet in der russischen Stadt Sotschi statt.")
    elsewhere = one(2, "002_x", "Sotschi liegt am Schwarzen Meer.", "Dort ist es warm.",
                    "Die Präsidenten wollen sich in Russland treffen.")
    stated = one(3, "003_x", "Die Präsidenten treffen sich in Sotschi in Russland.")
    question = "Where did they meet?"
    claim = "They met in Sotschi, Russia."
    ev = [Evidence(1, first, first.sentences[0], 1.0), Evidence(2, elsewhere, elsewhere.sentences[2], 1.0)]
    g, _, _ = grounded(GroundedChecker(), claim, (1,), ev, question)
    assert [e.passage.doc_id for e, _ in g.quotes()] == ["001_x"], "Sotschi stands only elsewhere in its passage"
    ev.append(Evidence(3, stated, stated.sentences[0], 1.0))
    g, _, _ = grounded(GroundedChecker(), claim, (1,), ev, question)
    assert [e.passage.doc_id for e, _ in g.quotes()] == ["001_x", "003_x"]
    g, _, _ = grounded(GroundedChecker(), claim, (2,), ev[1:], question)
    assert [e.passage.doc_id for e, _ in g.quotes()] == ["002_x", "003_x"], "the first quote names no Sotschi"


def test_a_quote_word_for_word_one_already_cited_does_not_corroborate() -> None:
    """The same article ingested twice (two doc ids, one text) is one source to the reader, not two."""
    text = "Putin sicherte militärische Hilfe zu."
    twice = [Passage(n, doc, 0, text, 0, len(text), (Sentence(text, 0, len(text)),))
             for n, doc in ((1, "004_x"), (2, "004_x-ac40"))]
    other = Passage(3, "001_y", 0, "Putin sicherte  militärische Hilfe zu, sagte der Kreml.", 0, 55,
                    (Sentence("Putin sicherte  militärische Hilfe zu, sagte der Kreml.", 0, 55),))
    g, _, _ = grounded(GroundedChecker(), "Putin promised military help.", (1,), evidence(*twice),
                       "What did Putin promise?")
    assert [e.passage.doc_id for e, _ in g.quotes()] == ["004_x"]
    g, _, _ = grounded(GroundedChecker(), "Putin promised military help.", (1,), evidence(*twice, other),
                       "What did Putin promise?")
    assert [e.passage.doc_id for e, _ in g.quotes()] == ["004_x", "001_y"], "another sentence is another source"


def test_other_articles_quotes_come_after_the_checked_answer(make_assistant: Callable[..., Assistant]) -> None:
    """The reader gets the answer with one quote as soon as it is checked (``Done``); the quote of a second
    article that states the same fact follows (``Corroborated``), and ``ask`` returns the answer with both."""
    assistant, _ = _assistant(make_assistant, "Lukashenko got 80.1 percent of the vote.")
    question = "What Prozent der Stimmen did Lukashenko get for a sechste Amtszeit?"
    events = [e for e in assistant.stream(question) if isinstance(e, Done | Corroborated)]
    assert [type(e) for e in events] == [Done, Corroborated]
    first, more = events[0].answer, events[1].answer
    assert len(first.citations) == 1 and first.answer.endswith("[1].")
    assert len({c.doc_id for c in more.citations}) == len(more.citations) == 2 and more.answer.endswith("[1][2].")
    assert more.citations[0] == first.citations[0] and more.sentences[0].text == first.sentences[0].text
    assert len({c.date for c in more.citations}) == 2, "the two articles are of different dates"
    assert more.answer == first.answer.replace("[1].", "[1][2]."), "a corroborating article adds no label"
    assert (first.sentences[0].grounded_by, more.sentences[0].grounded_by) == (1, 1)
    assert first.timings.corroborate_s is None and more.timings.corroborate_s is not None
    assert more.timings.checked_s == first.timings.checked_s < more.timings.sourced_s
    assert more.timings.checks["focused_read_calls"] > first.timings.checks["focused_read_calls"]
    assert assistant.ask(question).citations == more.citations
    assistant.answerer.checker.corroborate = 0
    assert [type(e) for e in assistant.stream(question) if isinstance(e, Done | Corroborated)] == [Done]


def test_a_name_may_stand_anywhere_in_the_passage() -> None:
    ev = evidence(passage(1, "Trainer war Peter Stöger.", "Er bot dem Schiedsrichter seine Brille an."))
    g, answers, _ = grounded(GroundedChecker(), "Peter Stöger offered the referee his glasses.", (1,), ev,
                             "Who offered the referee his glasses?")
    assert g.evidence is not None and answers
    g, _, _ = grounded(GroundedChecker(read=lambda q, source, lang: "Stöger." if "Stöger" in source else ""),
                       "Gruber offered the referee his glasses.", (1,), ev, "Who offered him his glasses?")
    assert g.evidence is None and g.reason == "focused_read said no", "a name in no source: the read names another"


def test_the_judge_reads_the_quote_after_the_sentence_before_and_can_refuse() -> None:
    seen: list[tuple[str, str, str]] = []

    def judge(q: str, a: str, source: str) -> bool:
        seen.append((q, a, source))
        return False

    ev = evidence(passage(1, OTHER, VOTE))
    g, answers, _ = grounded(GroundedChecker(judge=judge, checks="+answer_judge"), "He got 80.1 percent.", (1,), ev,
                             "What share?")
    assert g.evidence is None and g.reason == "answer_judge said no" and not answers
    assert seen == [("What share?", "He got 80.1 percent.", f"{OTHER} {VOTE}")]
    g, _, _ = grounded(GroundedChecker(judge=judge, checks="-answer_judge"), "He got 80.1 percent.", (1,), ev,
                       "What share?")
    assert g.evidence is not None and len(seen) == 1


def test_an_answer_must_add_the_kind_of_fact_its_question_asks_for() -> None:
    assert expected_fact("Who refereed the match?") == "name"
    assert expected_fact("How many people were detained?") == "number"
    assert expected_fact("Wann fand die Wahl statt?") == "time"
    assert expected_fact("Which profession's rule was struck down?") is None

    def kind_ok(question: str, text: str, facts: set[str]) -> bool:
        return bool(fact_kind([Grounding(text, None, None, new_facts=frozenset(facts))], Context(question, "en", [])))

    assert not kind_ok("Who refereed the match between Hannover and Köln?",
                       "The referee refereed the match between Hannover and Köln.", set())
    assert kind_ok("Who refereed the match?", "Bastian Dankert did.", {"dankert"})
    assert not kind_ok("How many goals did Tosun score in the 2-1 win?", "Tosun scored in the 2-1 win.", set())
    assert kind_ok("How many people were detained?", "Forty people were.", set())
    assert not kind_ok("What percentage of the vote did Podemos win?", "Podemos won 5.2 million votes.", {"5.2"})
    assert kind_ok("What percentage of the vote did Podemos win?", "Podemos won 20.7 percent.", {"20.7"})


def test_a_sentence_whose_words_all_stand_in_the_question_adds_nothing() -> None:
    from rag.checks.adds_to_question import adds_to_question, new_words

    q = ("In which area of Vienna did police pick up the 25-year-old woman suspected of killing her "
         "five-year-old son in a flat in the Favoriten district?")
    assert new_words("The police picked up the 25-year-old woman suspected of killing her five-year-old son "
                     "in the Favoriten district of Vienna.", q) == set()
    assert new_words("Police picked her up on the Höhenstraße.", q) == {"hohenstras"}
    de = "Wen wird Kärntens Landeshauptmann Peter Kaiser im zweiten Wahlgang wählen?"
    assert not new_words("Peter Kaiser wird Kärntens Landeshauptmann Peter Kaiser im zweiten Wahlgang wählen.", de)
    assert new_words("Er wählt Van der Bellen.", de) == {"van", "bell"}
    assert new_words("40", "How many trucks?") == {"40"}
    assert new_words("Bundespräsidentenwahl", "Wer wurde Bundespräsident?"), "a longer compound is a new word"

    def keeps(question: str, text: str) -> bool:
        return bool(adds_to_question(Claim(text, frozenset(), {}), Grounding(text, None, None),
                                     Context(question, "en", [])))

    assert not keeps("Who is the Kremlin spokesman?", "The Kremlin spokesman is the spokesman of the Kremlin.")
    assert keeps("Who is the Kremlin spokesman?", "Dmitri Peskov.")


def test_a_second_read_of_the_quote_must_agree_with_the_sentence() -> None:
    from rag.focused import agrees

    assert agrees("Up to 40 trucks were heading to Belarus.", "40 trucks", "How many trucks were heading to Belarus?")
    assert agrees("He got 80.1 percent.", "80,1 Prozent", "What share of the vote did he get?")
    assert agrees("Up to 40 trucks were heading to Belarus.", "Forty trucks.", "How many trucks were heading there?"), \
        "a reply may write the number as a word"
    question = "How did NATO respond to the accusation?"
    claim = "NATO responded by sending military aid and threatening to deploy troops in Lithuania and Poland."
    assert not agrees(claim, "NATO rejected the accusation; it has no troops in Poland.", question), \
        "one word in common with a reply that says something else"
    assert agrees(claim, "It sent military aid and threatened to deploy troops in Poland and Lithuania.", question)
    assert not agrees("Anderson hit 6 aces.", "I don't know.", "How many aces did Anderson hit?")
    assert not agrees("Anderson hit 6 aces.", "40 aces", "How many aces did Anderson hit?")
    assert agrees("Jens Stoltenberg rejected the claims.", "Stoltenberg", "Who rejected the claims?")
    assert not agrees("Jens Stoltenberg rejected the claims.", "The NATO chief rejected the claims.",
                      "Who rejected the claims?")
    assert not agrees("Police picked her up in Favoriten.", "In Favoriten.", "Where in Favoriten was she picked up?"), \
        "a word of the question is not an agreement"


def test_the_focused_read_sees_the_quote_alone_and_a_disagreeing_read_refuses(
        make_assistant: Callable[..., Assistant]) -> None:
    question = "Mit wie viel Prozent der Stimmen wurde Lukaschenko bestätigt?"
    gen = ScriptedGenerator(echo_matching("80,1 Prozent"), read=lambda q, source: "Das weiß ich nicht.")
    refused = make_assistant(gen).ask(question)
    assert refused.refused and gen.read_calls
    assert [d.split(": ")[-1] for d in refused.dropped] == ["focused_read said no"], "the reason is kept"
    assert refused.to_json()["dropped"] == list(refused.dropped)
    asked, source = gen.read_calls[0]
    assert asked == question and "80,1 Prozent" in source and len(source) < 600, "one quote, not the passages"
    gen = ScriptedGenerator(echo_matching("80,1 Prozent"), read=lambda q, source: source)
    assert not make_assistant(gen).ask(question).refused
    gen = ScriptedGenerator(echo_matching("80,1 Prozent"), read=lambda q, source: "Das weiß ich nicht.")
    assert not make_assistant(gen, checks="-focused_read").ask(question).refused and not gen.read_calls


def test_every_check_is_registered_once_with_a_reason_and_can_be_switched_off() -> None:
    names = [c.name for c in enabled()]
    assert names == [c.name for c in REGISTRY.values() if c.default] and len(names) == len(set(names)) >= 4
    assert all(c.doc for c in REGISTRY.values())
    assert "answer_judge" not in [c.name for c in enabled("-answer_judge")]
    with pytest.raises(InputError, match="unknown check 'nope'"):
        enabled("-nope")


def _assistant(make_assistant: Callable[..., Assistant], answer: str) -> tuple[Assistant, ScriptedGenerator]:
    gen = ScriptedGenerator(answer)
    return make_assistant(gen), gen


def test_the_model_is_shown_whole_passages_and_the_citation_opens_the_quote(
        make_assistant: Callable[..., Assistant]) -> None:
    assistant, gen = _assistant(make_assistant, "Lukashenko got 80.1 percent of the vote.")
    question = "What Prozent der Stimmen did Lukashenko get for a sechste Amtszeit?"
    events = list(assistant.stream(question))
    shown = [e for e in events if isinstance(e, Retrieved)][0].evidence
    assert 0 < len(shown) <= 4 and len({e.passage.passage_id for e in shown}) == len(shown)
    prompt = gen.messages[-1]["content"]
    assert all(e.passage.text.strip() in prompt for e in shown) and "Answer in English." in prompt
    answer = assistant.ask(question)
    if not any("80,1" in e.passage.text for e in shown):
        assert answer.refused
        return
    assert not answer.refused and answer.citations[0].n == 1
    assert len({c.doc_id for c in answer.citations}) == len(answer.citations) <= 2, "corroborated by another article"
    for cite in answer.citations:
        assert "80,1 Prozent" in cite.quote and cite.quote in cite.passage
        doc = assistant.retriever.snapshot.documents[cite.doc_id].text
        assert doc[cite.quote_start:cite.quote_end] == cite.quote
    assert "Lukashenko got 80.1 percent of the vote [1" in answer.answer


def test_the_model_saying_it_does_not_know_is_a_refusal(make_assistant: Callable[..., Assistant]) -> None:
    assistant, _ = _assistant(make_assistant, "I don't know.")
    assert assistant.ask("What share of the vote did Lukashenko get?").refused
    assistant, _ = _assistant(make_assistant, "Das weiß ich nicht.")
    answer = assistant.ask("Wie viel Prozent der Stimmen erhielt Lukaschenko?")
    assert answer.refused and answer.answer.startswith("Die Artikel sagen dazu nichts. Die Stellen, die der Frage")


@pytest.mark.parametrize("reply", [
    "The architect of the house is not mentioned in the given context [1].",
    "The text does not provide information about who fumbled the ball.",
    "The articles don't say.",
    "There is no mention of the price.",
    "Der Name wird im Text nicht genannt.",
    "Das geht aus dem Text nicht hervor.",
])
def test_a_reply_saying_the_sources_do_not_say_is_a_refusal(reply: str) -> None:
    assert says_nothing(reply)


@pytest.mark.parametrize("reply", [
    "The new deal does not include Video on Demand and High Definition.",
    "Lukashenko is not mentioned as a candidate.",
    "Im Text steht, dass er nicht kam.",
    "The information was given to the police on Monday.",
])
def test_an_answer_with_a_negation_is_not_a_refusal(reply: str) -> None:
    assert not says_nothing(reply)


def test_an_invented_number_is_refused_and_unchecked_it_is_shown(make_assistant: Callable[..., Assistant]) -> None:
    assistant, _ = _assistant(make_assistant, "Lukashenko got 91.7 percent of the vote [1].")
    checked, unchecked = assistant.ask_both("What share of the vote did Lukashenko get?")
    assert checked.refused and checked.answer.startswith("The articles don't say.")
    assert "91.7" not in checked.answer
    assert not unchecked.refused and "91.7" in unchecked.answer


def test_a_refusal_shows_the_closest_passages_cited_and_marked(make_assistant: Callable[..., Assistant]) -> None:
    assistant, _ = _assistant(make_assistant, "Lukashenko got 91.7 percent of the vote [1].")
    answer = assistant.ask("What share of the vote did Lukashenko get?")
    assert answer.refused and not answer.sentences
    assert answer.answer == ("The articles don't say. The passages closest to the question, which do not state "
                             "the answer: [1], [2].")
    assert [c.n for c in answer.citations] == [1, 2]
    assert len({c.passage_id for c in answer.citations}) == 2
    for cite in answer.citations:
        doc = assistant.retriever.snapshot.documents[cite.doc_id].text
        assert doc[cite.quote_start:cite.quote_end] == cite.quote and cite.quote in cite.passage


def test_a_restated_question_is_not_an_answer(make_assistant: Callable[..., Assistant]) -> None:
    assistant, _ = _assistant(make_assistant, "The Kremlin spokesman spoke about the meeting [1].")
    assert assistant.ask("Who is the Kremlin spokesman?").refused


def test_a_lead_in_that_states_nothing_is_dropped_and_one_naming_someone_is_kept() -> None:
    from rag.checks.lead_in import lead_in

    ctx = Context("q?", "en", [])
    assert lead_in(DraftSentence("Voici la réponse: 3,200 nurses went on strike.", (1,)), ctx).text == \
        "3,200 nurses went on strike."
    assert lead_in(DraftSentence("Here is the answer: he won.", ()), ctx).text == "He won."
    assert lead_in(DraftSentence("Sergej Lawrow: the visit is planned.", ()), ctx).text.startswith("Sergej Lawrow:")
    assert lead_in(DraftSentence("He won 80.1 percent.", ()), ctx).text == "He won 80.1 percent."


def test_a_rejected_quote_gives_way_to_the_next_passage_that_grounds_the_claim() -> None:
    vague = passage(1, "Putin habe ihm umfassende Hilfe zugesagt.")
    military = passage(2, "Putin sicherte Lukaschenko militärische Hilfe zu.")
    seen: list[str] = []

    def judge(q: str, a: str, source: str) -> bool:
        seen.append(source)
        return "militärische" in source

    g, answers, _ = grounded(GroundedChecker(judge=judge, checks="+answer_judge"), "Putin promised military help.",
                             (), evidence(vague, military), "What did Putin promise Lukashenko?")
    assert g.evidence is not None and g.evidence.n == 2 and answers
    assert len(seen) == 2

    def read(q: str, source: str, lang: str) -> str:
        return "Military help." if "militärische" in source else "Full assistance."

    g, answers, _ = grounded(GroundedChecker(read=read), "Putin promised military help.", (),
                             evidence(vague, military), "What did Putin promise Lukashenko?")
    assert g.evidence is not None and g.evidence.n == 2 and answers, "the same with the focused read"


def test_a_count_written_as_a_word_must_stand_in_the_quote_when_number_words_is_on() -> None:
    """"two touchdowns" passed against "vier Interceptions" while only digits were compared (session 23).

    Off by default: in the pipeline it changed no figure on any of the four sets.
    """
    question = "How many touchdowns did Josh Norman score?"
    four = passage(1, "Josh Norman erzielte vier Interceptions.", "Er spielte als Cornerback.")
    on = GroundedChecker(checks="+number_words")
    g, _, _ = grounded(on, "Josh Norman scored two touchdowns.", (1,), evidence(four), question)
    assert g.evidence is None and g.reason == "no source sentence matches"
    g, _, _ = grounded(GroundedChecker(), "Josh Norman scored two touchdowns.", (1,), evidence(four), question)
    assert g.evidence is not None, "by default the word count goes unchecked"
    two = passage(2, "Er spielte als Cornerback.", "Josh Norman erzielte zwei Touchdowns.")
    g, _, _ = grounded(on, "Josh Norman scored two touchdowns.", (1,), evidence(four, two), question)
    assert g.evidence is not None and g.quote == two.sentences[1], "the sentence stating it in words is the quote"


def test_a_number_in_digits_is_stated_by_the_same_number_in_words() -> None:
    ev = evidence(passage(1, "Die Polizei nahm zwei Männer fest.", "Die Proteste gingen weiter."))
    g, _, _ = grounded(GroundedChecker(), "Police arrested 2 men.", (1,), ev, "How many men did police arrest?")
    assert g.evidence is not None and g.quote == ev[0].passage.sentences[0]


def test_a_refused_claim_says_which_of_its_new_numbers_stands_in_no_source() -> None:
    """The reason names the missing numbers only; when each stands somewhere but no one sentence states them
    all (and no pair of quotes does), it says so."""
    question = "What did Glawischnig win?"
    money = passage(1, "Die Klägerin erhielt 500 Euro Schadenersatz.", "Das Urteil ist rechtskräftig.")
    party = passage(2, "Die Grünen-Chefin Glawischnig klagte in Wien.", "Sie sprach am 9. August.")
    g, _, _ = grounded(GroundedChecker(), "Glawischnig won 500 euros in 2016 on 12 May.", (1,),
                       evidence(money, party), question)
    assert g.evidence is None and g.reason == "12, 2016 stand in no source"
    g, _, _ = grounded(GroundedChecker(), "Glawischnig won 500 euros on 9 May.", (1,), evidence(money), question)
    assert g.evidence is None and g.reason == "9 stands in no source"
    g, _, _ = grounded(GroundedChecker(), "Glawischnig won 500 euros, 9 of them at once.", (1,),
                       evidence(passage(3, "Sie erhielt 500 Euro und 9 Prozent.")), question)
    assert g.evidence is not None


def test_a_german_answer_takes_its_new_nouns_from_its_quote() -> None:
    """German capitalises every noun, so names go unread in German answers; three states no source names passed
    as the answer to an unanswerable GNAD dev question (session 25)."""
    question = "In welchen drei Bundesländern wurde das Spekulationsverbot nicht umgesetzt?"
    vague = passage(1, "Das Spekulationsverbot wurde in drei Bundesländern gar nicht umgesetzt.",
                    "Die Länder haben Vereinbarungen getroffen.")
    claim = "In den Bundesländern Bayern, Baden-Württemberg und Schleswig-Holstein wurde es nicht umgesetzt."
    g, _, _ = grounded(GroundedChecker(), claim, (1,), evidence(vague), question, lang="de")
    assert g.evidence is None and g.reason == "capitals_in_quote said no"
    g, _, _ = grounded(GroundedChecker(checks="-capitals_in_quote"), claim, (1,), evidence(vague), question,
                       lang="de")
    assert g.evidence is not None, "without the check the sentence passes"
    g, _, _ = grounded(GroundedChecker(), claim, (1,), evidence(vague), question)
    assert g.evidence is not None, "an English answer's capitals are names, read elsewhere"
    named = passage(2, "Betroffen sind Bayern und Schleswig-Holstein.",
                    "Auch in Baden-Württembergs Landtag wurde es nicht umgesetzt.")
    ev = evidence(vague, named)
    ev[1] = dataclasses.replace(ev[1], sentence=named.sentences[1])
    g, _, _ = grounded(GroundedChecker(), claim, (1,), ev, question, lang="de")
    assert g.evidence is not None and g.quote == named.sentences[1], "the names stand in the quote after the one before"


def test_capitals_in_quote_reads_endings_and_compounds_written_apart_and_picks_no_quote() -> None:
    """It only says no: run as a rule on which sentence may be the quote, it moved an answer to a sentence where
    the focused read passed a wrong answer (seeds-tune q32, session 26)."""
    question = "Wie viele Asse schlug Kevin Anderson?"
    match = passage(1, "Im Achtelfinale von Wimbledon schlug Kevin Anderson 40 Asse.", "Er gewann mit Aufschlag.")
    g, _, _ = grounded(GroundedChecker(), "Kevin Anderson schlug im Wimbledon-Achtelfinale 40 Asse.", (1,),
                       evidence(match), question, lang="de")
    assert g.evidence is not None
    g, _, _ = grounded(GroundedChecker(), "Kevin Anderson schlug 40 Asse mit seinem Aufschlag.", (1,),
                       evidence(match), question, lang="de")
    assert g.evidence is None and g.reason == "capitals_in_quote said no", "Aufschlag stands in the next sentence only"
    both = passage(2, "Kevin Anderson schlug viele Asse.", "Sein Aufschlag war der beste im Turnier.")
    g, _, _ = grounded(GroundedChecker(), "Kevin Anderson schlug viele Asse mit seinem Aufschlag.", (1,),
                       evidence(both), question, lang="de")
    assert g.evidence is None, "the quote stays retrieval's pick; the next one, naming Aufschlag, is not taken"


def test_quote_tries_bound_the_reads_for_a_sentence_but_not_its_corroboration() -> None:
    vague = passage(1, "Putin habe ihm umfassende Hilfe zugesagt.")
    military = passage(2, "Putin sicherte Lukaschenko militärische Hilfe zu.")
    also = passage(3, "Er sagte ihm militärische Hilfe zu.")
    seen: list[str] = []

    def read(q: str, source: str, lang: str) -> str:
        seen.append(source)
        return "Military help." if "militärische" in source else "Full assistance."

    question = "What did Putin promise Lukashenko?"
    g, answers, _ = grounded(GroundedChecker(read=read, tries=1), "Putin promised military help.", (),
                             evidence(vague, military), question)
    assert g.evidence is None and not answers and g.reason == "focused_read said no"
    assert seen == ["Putin habe ihm umfassende Hilfe zugesagt."], "the second passage is never read"
    seen.clear()
    g, answers, _ = grounded(GroundedChecker(read=read, tries=1), "Putin promised military help.", (),
                             evidence(military, vague, also), question)
    assert g.evidence is not None and g.evidence.n == 1 and answers
    assert [e.n for e, _ in g.quotes()] == [1, 3], "a later candidate still corroborates"
    seen.clear()
    five = [passage(k, f"Putin habe ihm Hilfe Nummer {k} zugesagt.") for k in range(1, 6)]
    g, _, _ = grounded(GroundedChecker(read=read, tries=5), "Putin promised military help.", (), evidence(*five),
                       question)
    assert g.evidence is None and len(seen) == 5, "tries beyond the corroboration window are read too"
    with pytest.raises(ValueError, match="quote tries must be at least 1"):
        GroundedChecker(tries=0)


def test_sentences_after_the_shown_ones_are_not_read() -> None:
    """An answer shows ``max_sentences``; reading the rest cost a listing draft 32 focused reads (session 25)."""
    ev = evidence(passage(1, "Die Opposition protestierte.", VOTE, "Die Proteste gingen weiter."))
    seen: list[str] = []

    def read(question: str, source: str, lang: str) -> str:
        seen.append(source)
        return "He got 80.1 percent; 99 percent is wrong."

    drafts = [DraftSentence("He got 99 percent.", (1,)), DraftSentence("He got 80.1 percent.", (1,)),
              DraftSentence("He got 80,1 percent of the vote.", (1,)), DraftSentence("It was 80.1 percent.", (1,))]
    checker = GroundedChecker(read=read)
    out, answers = checker.check(drafts, ev, checker.context("What share?", "en", ev), keep=2)
    assert [g.evidence is not None for g in out] == [False, True, True] and answers
    assert len(seen) == 2, "the fourth sentence is never read"
    seen.clear()
    out, _ = checker.check(drafts, ev, checker.context("What share?", "en", ev))
    assert len(out) == 4 and len(seen) == 3, "without keep every grounded sentence is read"


def test_a_date_whose_day_the_question_states_as_another_number_must_stand_in_the_quote_as_that_date() -> None:
    """GNAD dev g062: the 13 of "CyanogenMod 13" let "released on November 13" pass a quote saying "Ende November"."""
    question = "On what date was the first stable version of CyanogenMod 13 released?"
    vague = passage(1, "CyanogenMod 13 basiert auf Android 6.0 Marshmallow.",
                    "Es wurde Ende November angekündigt und kommt auf immer mehr Geräte.")
    claim = "The first stable version of CyanogenMod 13 was released on November 13."
    on = GroundedChecker(checks="+dates_in_quote")
    g, answers, ctx = grounded(on, claim, (1,), evidence(vague), question)
    assert g.evidence is None and not answers and ctx.costs["dates_in_quote_calls"] >= 1
    g, _, _ = grounded(GroundedChecker(), claim, (1,), evidence(vague), question)
    assert g.evidence is not None, "off by default: the numbers rule alone passes it"
    dated = passage(2, "CyanogenMod 13 basiert auf Android 6.0 Marshmallow.",
                    "Die erste stabile Version erschien am 13.11.2015.")
    g, _, _ = grounded(on, claim, (2,), evidence(vague, dated), question)
    assert g.quote == dated.sentences[1], "the sentence with the date is the quote"
    g, _, _ = grounded(on, "CyanogenMod 13 was released in November.", (1,), evidence(vague), question)
    assert g.evidence is not None, "a month alone is no date the question's 13 could stand for"
    date, vote = "Die Wahl fand am 9. August statt.", "Er erhielt 80,1 Prozent."
    g, _, _ = grounded(on, "On August 9 he got 80.1 percent.", (1,), evidence(passage(3, date), passage(4, vote)), "q?")
    assert g.grounded_by == 2, "a date with a new day is the numbers rule's, and two quotes may share it out"
