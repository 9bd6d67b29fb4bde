"""The Assistant end to end with fakes: prompt, streaming, refusal, language, citations, follow-ups, JSON shape."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from conftest import MakeAssistant
from fakes import FakeEmbedder, ScriptedGenerator, echo_matching, echo_sources, sources_in

from rag.answer_kind import preferred
from rag.checks import enabled
from rag.errors import InputError
from rag.generate import GenerationStats, Message
from rag.grounded import passage_evidence
from rag.ingest import Ingestor
from rag.pipeline import MAX_QUESTION_CHARS, Assistant, Done, Event, Retrieved, Token
from rag.prompt import CLOSEST, PASSAGE_PROMPT, REFUSAL_MARK, REFUSALS, passage_messages
from rag.store import Store
from rag.types import Answer, Turn

DE_QUESTION = "Mit wie viel Prozent der Stimmen wurde Lukaschenko bestätigt?"
EN_QUESTION = "What share of the vote did Lukashenko get?"
VOTE = r"80,1 Prozent"


def run(assistant: Assistant, question: str, history: Sequence[Turn] = ()) -> tuple[Retrieved, list[Event], Answer]:
    """Drain the stream: the Retrieved event comes first, the Done event last."""
    events = list(assistant.stream(question, history))
    first, last = events[0], events[-1]
    assert isinstance(first, Retrieved) and isinstance(last, Done)
    assert sum(isinstance(e, (Retrieved, Done)) for e in events) == 2
    return first, events, last.answer


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question(make_assistant: MakeAssistant, question: str) -> None:
    gen = ScriptedGenerator("x [1].")
    assistant = make_assistant(gen)
    with pytest.raises(InputError, match="empty"):
        assistant.ask(question)
    assert gen.calls == []


def test_too_long_question(make_assistant: MakeAssistant) -> None:
    with pytest.raises(InputError, match=str(MAX_QUESTION_CHARS)):
        make_assistant().ask("Lukaschenko " * 300)


def test_the_model_gets_the_retrieved_passages_and_the_question_in_its_language(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_sources(1))
    retrieved, _, _ = run(make_assistant(gen), DE_QUESTION)
    evidence = retrieved.evidence
    assert len(gen.calls) == 1
    assert gen.messages == passage_messages(DE_QUESTION, list(evidence), "de")
    assert [e.n for e in evidence] == list(range(1, len(evidence) + 1)) and 0 < len(evidence) <= 4
    assert len({e.passage.passage_id for e in evidence}) == len(evidence)
    user = gen.messages[-1]["content"]
    assert user.endswith(f"\n\nQuestion: {DE_QUESTION}\nAnswer in German.\nHelpful Answer:")
    assert sources_in(gen.messages) == {e.n: e.passage.text.strip() for e in evidence}


def test_citations_come_from_the_evidence(make_assistant: MakeAssistant) -> None:
    assistant = make_assistant(ScriptedGenerator(echo_matching(VOTE)))
    retrieved, _, answer = run(assistant, DE_QUESTION)
    shown = {e.passage.passage_id: e for e in retrieved.evidence}
    assert not answer.refused and answer.citations
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    docs = assistant.retriever.snapshot.documents
    for c in answer.citations:
        e = shown[c.passage_id]
        assert c.doc_id == e.passage.doc_id and c.passage == e.passage.text and c.quote in c.passage
        doc = docs[c.doc_id]
        assert (c.title, c.date, c.source) == (doc.title, doc.date, doc.source)
        assert doc.text[c.quote_start:c.quote_end] == c.quote
        assert "80,1 Prozent" in c.quote
    assert "[1]" in answer.answer
    assert all(s.supported and s.citations for s in answer.sentences)


def test_tokens_are_streamed_in_order(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_sources(1), piece_chars=3)
    _, events, answer = run(make_assistant(gen), DE_QUESTION)
    tokens = [e.text for e in events if isinstance(e, Token)]
    assert len(tokens) > 3
    assert "".join(tokens).strip() == answer.draft
    assert answer.timings.first_token_s is not None and answer.timings.tokens_per_s is not None
    assert 0 <= answer.timings.retrieve_s <= answer.timings.first_token_s <= answer.timings.total_s


def test_tokens_per_second_counts_the_generators_tokens_not_text_pieces(make_assistant: MakeAssistant) -> None:
    """A piece of streamed text may hold several tokens; the generator's own count and decode time win."""
    gen = ScriptedGenerator(echo_sources(1), piece_chars=3, stats=GenerationStats(700, 41, 2.0))
    _, events, answer = run(make_assistant(gen), DE_QUESTION)
    assert answer.timings.tokens_per_s == pytest.approx(20.0)
    assert GenerationStats(700, 1, 0.0).tokens_per_s is None


def test_settings_reach_the_generator_and_the_retrieval(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator("I don't know.")
    make_assistant(gen, max_tokens=77, temperature=0.3).ask(EN_QUESTION)
    assert gen.calls[0]["max_tokens"] == 77 and gen.calls[0]["temperature"] == 0.3
    retrieved, _, _ = run(make_assistant(gen, passages=2), EN_QUESTION)
    assert len(retrieved.evidence) == 2 and len(sources_in(gen.messages)) == 2


def test_unsupported_sentence_is_dropped(make_assistant: MakeAssistant) -> None:
    def answer(messages: list[Message]) -> str:
        return echo_matching(VOTE)(messages) + "\nEr erhielt 99,9 Prozent der Stimmen [1]."

    _, _, ans = run(make_assistant(ScriptedGenerator(answer)), DE_QUESTION)
    assert not ans.refused
    assert "99,9" not in ans.answer and "99,9" in ans.draft
    assert len(ans.sentences) == 1 and "80,1" in ans.answer


def test_nothing_supported_is_a_refusal(make_assistant: MakeAssistant) -> None:
    _, _, ans = run(make_assistant(ScriptedGenerator("Er erhielt 99,9 Prozent der Stimmen [1].")), DE_QUESTION)
    assert_closest_refusal(ans, "de")


@pytest.mark.parametrize(("question", "lang", "reply", "refusal"), [
    (EN_QUESTION, "English", "I don't know.", "The articles don't say."),
    (DE_QUESTION, "German", "Das weiß ich nicht.", "Die Artikel sagen dazu nichts."),
    (EN_QUESTION, "English", REFUSAL_MARK, "The articles don't say."),
])
def test_a_refusal_is_said_in_the_questions_language(make_assistant: MakeAssistant, question: str, lang: str,
                                                     reply: str, refusal: str) -> None:
    gen = ScriptedGenerator(reply)
    _, _, ans = run(make_assistant(gen), question)
    assert ans.refused is True and ans.answer.startswith(refusal)
    assert_closest_refusal(ans, "en" if lang == "English" else "de")
    assert f"Answer in {lang}." in gen.messages[-1]["content"]


def test_refusal_mark_inside_text(make_assistant: MakeAssistant) -> None:
    _, _, ans = run(make_assistant(ScriptedGenerator("Sorry: not in sources.")), EN_QUESTION)
    assert_closest_refusal(ans, "en")


def test_empty_generation_is_a_refusal(make_assistant: MakeAssistant) -> None:
    _, _, ans = run(make_assistant(ScriptedGenerator("   ")), EN_QUESTION)
    assert ans.refused and ans.timings.first_token_s is not None


def test_weak_retrieval_refuses_without_generating(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_sources(1))
    _, events, ans = run(make_assistant(gen, refuse_below=0.99), DE_QUESTION)
    assert gen.calls == []
    assert ans.refused and ans.answer == REFUSALS["de"]
    assert ans.timings.first_token_s is None
    assert not any(isinstance(e, Token) for e in events)


def test_follow_up_without_rewriter_searches_with_the_previous_turn(make_assistant: MakeAssistant,
                                                                    embedder: FakeEmbedder) -> None:
    gen = ScriptedGenerator("I don't know.")
    history = [Turn("Wo trafen sich Lukaschenko und Putin?", "In Sotschi [1].")]
    retrieved, _, ans = run(make_assistant(gen, rewrite=False), "Und wann?", history)
    query = retrieved.query
    assert query.startswith("Wo trafen sich Lukaschenko und Putin?") and query.endswith("Und wann?")
    assert ans.standalone_question == query
    assert embedder.queries[-1] == query
    # the follow-up reaches the model through its passages, not as an earlier question it would answer instead
    assert "Question: Und wann?\n" in gen.messages[-1]["content"]
    assert "Wo trafen sich" not in gen.messages[-1]["content"]


def test_answer_json_shape(make_assistant: MakeAssistant) -> None:
    ans = make_assistant(ScriptedGenerator(echo_matching(VOTE))).ask(DE_QUESTION)
    data: dict[str, Any] = json.loads(json.dumps(ans.to_json()))
    assert set(data) == {"question", "answer", "refused", "verified", "citations", "sentences", "dropped",
                         "timings"}
    assert data["question"] == DE_QUESTION and data["refused"] is False
    assert data["citations"]
    for c in data["citations"]:
        assert set(c) == {"n", "doc_id", "title", "date", "source", "passage", "quote"}
    assert set(data["timings"]) == {"retrieve_s", "first_token_s", "total_s", "tokens_per_s", "verify_s", "checks",
                                     "prompt_tokens", "tokens", "rewrite_s", "checked_s", "corroborate_s",
                                     "sourced_s"}
    for s in data["sentences"]:
        assert set(s) == {"text", "citations", "grounded_by", "supported", "evidence"}
    t = data["timings"]
    assert t["verify_s"] >= 0 and t["checked_s"] == pytest.approx(t["total_s"] + t["verify_s"], abs=0.002)
    assert t["sourced_s"] == pytest.approx(t["checked_s"] + (t["corroborate_s"] or 0.0), abs=0.002)


def test_refusal_json_shape(make_assistant: MakeAssistant) -> None:
    ans = make_assistant(ScriptedGenerator("I don't know.")).ask(EN_QUESTION)
    data: dict[str, Any] = json.loads(json.dumps(ans.to_json()))
    assert set(data) == {"question", "answer", "refused", "verified", "citations", "sentences", "dropped",
                         "timings"}
    assert data["refused"] is True and data["answer"].startswith("The articles don't say. The passages closest")
    assert [c["n"] for c in data["citations"]] == [1, 2] and data["sentences"] == []


def test_the_prompt_opens_with_the_same_instructions_for_every_question(make_assistant: MakeAssistant) -> None:
    """Everything before the passages is fixed, so llama.cpp serves it from its KV cache (``warm_up``)."""
    assistant = make_assistant()
    a = passage_messages(DE_QUESTION, list(assistant.answerer.evidence(DE_QUESTION, DE_QUESTION)[0]), "de")
    b = passage_messages(EN_QUESTION, list(assistant.answerer.evidence(EN_QUESTION, EN_QUESTION)[0]), "en")
    fixed = PASSAGE_PROMPT.split("{context}")[0]
    assert len(fixed) > 100 and a[0]["content"].startswith(fixed) and b[0]["content"].startswith(fixed)
    assert a != b


def test_empty_index_refuses_without_generating(ingested: Store, embedder: FakeEmbedder,
                                                make_assistant: MakeAssistant) -> None:
    report = Ingestor(ingested, embedder).ingest([], remove=list(ingested.load().documents))
    assert len(report.removed) == 5
    gen = ScriptedGenerator(echo_sources(1))
    retrieved, _, ans = run(make_assistant(gen), DE_QUESTION)
    assert retrieved.evidence == () and gen.calls == []
    assert ans.refused and ans.answer == REFUSALS["de"]


def test_llm_judge_saying_no_turns_a_copied_source_into_a_refusal(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_matching(VOTE), judge=lambda claim, passage: False)
    ans = make_assistant(gen, checks="+answer_judge").ask(DE_QUESTION)
    assert gen.answer_judge_calls, "the judge was never asked"
    assert_closest_refusal(ans, "de")


def test_llm_judge_saying_yes_keeps_the_copied_source_and_reads_the_quote(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_matching(VOTE), judge=lambda claim, passage: True)
    ans = make_assistant(gen, checks="+answer_judge").ask(DE_QUESTION)
    assert not ans.refused and ans.citations
    question, answer, judged = gen.answer_judge_calls[0]
    assert question == DE_QUESTION and answer == ans.sentences[0].text
    # the judge reads the quoted sentence (after the one before it), not the whole passage
    first = ans.citations[0]
    assert judged.endswith(first.quote) and judged != first.passage
    assert judged.removesuffix(first.quote).strip() in first.passage


def test_no_llm_judge_when_it_is_switched_off(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_matching(VOTE), judge=lambda claim, passage: False,
                            read=lambda question, source: "Das weiß ich nicht.")
    ans = make_assistant(gen, llm_judge=False, checks="+answer_judge").ask(DE_QUESTION)
    assert gen.answer_judge_calls == [] and gen.read_calls == [] and not ans.refused


def test_the_yes_no_judge_is_off_unless_named(make_assistant: MakeAssistant) -> None:
    """With the focused read on, the judge lowered correctness on all three sets (session 19), so it went."""
    gen = ScriptedGenerator(echo_matching(VOTE), judge=lambda claim, passage: False)
    ans = make_assistant(gen).ask(DE_QUESTION)
    assert gen.answer_judge_calls == [] and gen.read_calls and not ans.refused


def test_answer_keeps_at_most_max_sentences(make_assistant: MakeAssistant) -> None:
    question = "What did Putin promise Lukashenko?"
    ans = make_assistant(ScriptedGenerator(echo_sources(1, 2, 3, 4))).ask(question)
    assert len(ans.sentences) == 3, "the default"
    ans = make_assistant(ScriptedGenerator(echo_sources(1, 2, 3, 4)), max_sentences=2).ask(question)
    assert len(ans.sentences) == 2 and [c.n for c in ans.citations][:1] == [1]
    ans = make_assistant(ScriptedGenerator(echo_sources(1, 2, 3, 4)), max_sentences=4).ask(question)
    assert len(ans.sentences) == 4


def test_warm_up_loads_both_models_with_the_fixed_prefix(make_assistant: MakeAssistant, embedder: FakeEmbedder) -> None:
    gen = ScriptedGenerator("x")
    assistant = make_assistant(gen)
    before = len(embedder.queries)
    assistant.warm_up()
    assert len(embedder.queries) == before + 1
    assert gen.messages[0]["content"].startswith(PASSAGE_PROMPT.split("{context}")[0])
    assert gen.calls[-1]["max_tokens"] == 1


# ---------------------------------------------------------------- verification on and off


def _wrong_number(msgs: list[Message]) -> str:
    """Cites the vote passage, but changes its number: the model slip verification exists for."""
    n = next(n for n, text in sources_in(msgs).items() if "80,1" in text)
    return f"Lukaschenko erhielt 85 Prozent der Stimmen [{n}]."


def test_ask_both_keeps_the_models_citation_unverified_and_drops_it_verified(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(_wrong_number)
    on, off = make_assistant(gen).ask_both(DE_QUESTION)
    assert len(gen.calls) == 1
    assert on.verified and not off.verified
    assert on.refused and "85" not in on.answer
    assert not off.refused and "85" in off.answer and off.citations
    assert "80,1" in off.citations[0].passage, "unchecked, the citation is the passage the model named"
    assert off.sentences[0].citations == (off.citations[0].n,)
    assert on.timings.verify_s is not None and off.timings.verify_s is None


def test_verify_setting_off_shows_the_draft_citations(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(_wrong_number)
    ans = make_assistant(gen, verify=False).ask(DE_QUESTION)
    assert not ans.verified and "85" in ans.answer and ans.citations
    assert ans.to_json()["verified"] is False and gen.answer_judge_calls == gen.read_calls == []


def test_check_costs_are_recorded(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_matching(VOTE))
    ans = make_assistant(gen).ask(DE_QUESTION)
    assert not ans.refused
    checks = ans.timings.checks
    names = [c.name for c in enabled()]
    assert set(checks) == {f"{n}_{x}" for n in names for x in ("s", "calls")} | {"llm_judge_s", "llm_judge_calls"}
    assert checks["llm_judge_calls"] == checks["focused_read_calls"] >= len(gen.read_calls) >= 1
    assert ans.timings.verify_s is not None
    assert ans.timings.verify_s >= sum(checks[f"{n}_s"] for n in names if n != "focused_read") * 0.99


# ---------------------------------------------------------------- follow-up questions


def test_follow_up_is_rewritten_and_the_rewrite_is_searched_and_answered(make_assistant: MakeAssistant,
                                                                         embedder: FakeEmbedder) -> None:
    gen = ScriptedGenerator("I don't know.", rewrite=lambda q, prev, ans: "Wann trafen sich Lukaschenko und Putin?")
    history = [Turn("Wo trafen sich Lukaschenko und Putin?", "In Sotschi [1].")]
    retrieved, _, ans = run(make_assistant(gen), "Und wann?", history)
    assert gen.rewrite_calls == [("Und wann?", "Wo trafen sich Lukaschenko und Putin?", "In Sotschi.")]
    assert retrieved.query == retrieved.question == "Wann trafen sich Lukaschenko und Putin?"
    assert embedder.queries[-1] == "Wann trafen sich Lukaschenko und Putin?"
    assert "Question: Wann trafen sich Lukaschenko und Putin?\n" in gen.messages[-1]["content"]
    assert ans.question == "Und wann?" and ans.standalone_question == retrieved.query
    assert ans.timings.rewrite_s is not None and ans.to_json()["timings"]["rewrite_s"] is not None


def test_a_rewritten_follow_up_is_checked_against_the_rewrite(make_assistant: MakeAssistant) -> None:
    """"Und mit wie viel Prozent?" asks for a share; the checks read the answer against the rewritten question."""
    gen = ScriptedGenerator(echo_matching(VOTE), rewrite=lambda q, prev, ans: DE_QUESTION)
    history = [Turn("Wer gewann die Wahl in Belarus?", "Lukaschenko [1].")]
    _, _, ans = run(make_assistant(gen), "Und mit wie viel Prozent?", history)
    assert not ans.refused and "80,1" in ans.answer
    assert {q for q, _ in gen.read_calls} == {DE_QUESTION}


def test_a_rewrite_that_is_no_question_falls_back_to_the_previous_turn(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator("I don't know.", rewrite=lambda q, prev, ans: "They met in Sochi on Monday.")
    history = [Turn("Wo trafen sich Lukaschenko und Putin?", "In Sotschi [1].")]
    retrieved, _, ans = run(make_assistant(gen), "Und wann?", history)
    assert retrieved.query.startswith("Wo trafen sich") and retrieved.query.endswith("Und wann?")
    assert retrieved.question == "Und wann?"
    assert "Question: Und wann?\n" in gen.messages[-1]["content"]


def test_a_first_question_is_not_rewritten(make_assistant: MakeAssistant) -> None:
    gen = ScriptedGenerator(echo_sources(1))
    ans = make_assistant(gen).ask(EN_QUESTION)
    assert gen.rewrite_calls == [] and ans.standalone_question is None and ans.timings.rewrite_s is None


# ---------------------------------------------------------------- the evidence a question asks for


@pytest.mark.parametrize("question", [
    "How many people have been detained since the protests began?",
    "Wie viele Menschen demonstrierten am Sonntag in Minsk?",
    "Wie alt ist Lukaschenko?",
    "Who announced the prime minister's trip?",
])
def test_the_passages_shown_favour_the_kind_of_sentence_the_question_asks_for(
        make_assistant: MakeAssistant, question: str) -> None:
    """The pipeline passes ``preferred(question)`` to retrieval: those sentences, and only they, gain its bonus."""
    assistant = make_assistant(ScriptedGenerator("I don't know."))
    plain, _ = passage_evidence(assistant.retriever, question, assistant.answerer.top_k, None)
    shown = next(e for e in list(assistant.stream(question)) if isinstance(e, Retrieved)).evidence
    bonus = {e.sentence_id: e.score - p.score for e in shown for p in plain if p.sentence_id == e.sentence_id}
    assert bonus, "the two selections share no sentence"
    prefer = preferred(question)
    for e in shown:
        if e.sentence_id in bonus:
            favoured = prefer is not None and prefer.test(e.sentence.text)
            assert bonus[e.sentence_id] == pytest.approx(prefer.bonus if prefer and favoured else 0.0)
    if prefer is not None:
        assert any(prefer.test(e.sentence.text) for e in shown)


def assert_closest_refusal(ans: Answer, lang: str) -> None:
    """A refusal in ``lang``, then the closest passages, each cited, none as an answer sentence."""
    marks = ", ".join(f"[{c.n}]" for c in ans.citations)
    assert ans.refused and ans.sentences == ()
    assert ans.answer == f"{REFUSALS[lang]} {CLOSEST[lang].format(marks=marks)}"
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1)) and ans.citations
