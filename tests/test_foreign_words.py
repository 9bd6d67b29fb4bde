"""German words in English answers: found by word frequencies, replaced by a gloss or a translation."""

from __future__ import annotations

import pytest

from rag.checks import Context
from rag.checks.foreign_words import foreign_words
from rag.language import foreign_spans, is_foreign


@pytest.mark.parametrize("word", ["umfassende", "Hilfe", "spekulativ", "ungerechten", "militärische"])
def test_german_words_are_foreign_to_english(word: str) -> None:
    assert is_foreign(word, "en")
    assert not is_foreign(word, "de")


@pytest.mark.parametrize("word", ["Minsk", "Putin", "bank", "rating", "assistance", "also", "gift", "Kind"])
def test_words_english_uses_are_not(word: str) -> None:
    assert not is_foreign(word, "en")


@pytest.mark.parametrize(("text", "spans"), [
    ('He would provide "umfassende Hilfe" (full assistance) [1].', ["umfassende Hilfe"]),
    ("It was the Manned Spacecraft Center (Zentrum für bemannte Raumfahrt) [1].", ["Zentrum für bemannte Raumfahrt"]),
    ("Lukaschenko met Putin in Sochi [1].", []),
    ("Germany sent Hilfe [1].", []),
    ("Moody's rated it Caa2 (extrem-spekulativ) [1].", ["extrem-spekulativ"]),
])
def test_foreign_spans_need_a_lowercase_word(text: str, spans: list[str]) -> None:
    assert [text[a:b] for a, b in foreign_spans(text, "en")] == spans
    assert foreign_spans(text, "de") == []


def _repair(text: str, lang: str = "en", translate: dict[str, str] | None = None) -> str:
    calls: list[str] = []

    def translator(phrase: str) -> str:
        calls.append(phrase)
        return (translate or {}).get(phrase, "")

    ctx = Context("q", lang, [], translate=translator if translate is not None else None)
    return foreign_words(text, ctx)


def test_a_german_phrase_gives_way_to_its_english_gloss() -> None:
    assert _repair('Putin would provide "umfassende Hilfe" (full assistance) if needed.') == \
        "Putin would provide full assistance if needed."


def test_a_parenthesised_german_gloss_is_dropped() -> None:
    assert _repair("The faction was the Manned Spacecraft Center (Zentrum für bemannte Raumfahrt).") == \
        "The faction was the Manned Spacecraft Center."


def test_german_without_a_gloss_is_translated_and_kept_when_no_translator() -> None:
    text = "It was written against ungerechten forms of authority."
    assert _repair(text, translate={"ungerechten": "unjust"}) == "It was written against unjust forms of authority."
    assert _repair(text) == text
    assert _repair(text, translate={"ungerechten": "ungerechten"}) == text, "a German reply is not used"


def test_german_answers_are_left_alone() -> None:
    text = 'Putin sagte "umfassende Hilfe" zu.'
    assert _repair(text, lang="de", translate={}) == text


def test_the_phrase_translator_asks_once_per_phrase_and_keeps_the_first_line() -> None:
    from rag.translate import SYSTEM, PhraseTranslator
    from tests.fakes import ScriptedGenerator

    generator = ScriptedGenerator(translate=lambda phrase: '"unjust"\nThis means not fair.')
    translate = PhraseTranslator(generator)
    assert translate("ungerechten") == "unjust"
    assert translate("ungerechten") == "unjust"
    assert generator.translate_calls == ["ungerechten"]
    assert SYSTEM.startswith("Translate the German words")


def test_the_assistant_answers_english_with_the_gloss_not_the_german(make_assistant) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import ScriptedGenerator

    draft = 'Putin promised "umfassende Hilfe" (comprehensive help) [1].'
    answer = make_assistant(ScriptedGenerator(draft), llm_judge=False, checks="+foreign_words").ask(
        "What did Putin promise Lukashenko?")
    unrepaired = make_assistant(ScriptedGenerator(draft), llm_judge=False)
    kept = unrepaired.ask("What did Putin promise?")
    assert "umfassende" in kept.answer, kept.answer
    assert not answer.refused, answer.answer
    assert "umfassende" not in answer.answer and "comprehensive help" in answer.answer, answer.answer


def test_the_judge_reads_the_sentence_as_drafted_and_the_reader_gets_english(make_assistant) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import ScriptedGenerator

    draft = 'Putin promised "umfassende Hilfe" (comprehensive help) [1].'
    generator = ScriptedGenerator(draft, judge=lambda answer, source: True)
    answer = make_assistant(generator, checks="+foreign_words,+answer_judge").ask("What did Putin promise Lukashenko?")
    assert not answer.refused, answer.answer
    assert generator.answer_judge_calls and all("umfassende Hilfe" in a for _, a, _ in generator.answer_judge_calls)
    assert "umfassende" not in answer.answer and "comprehensive help" in answer.answer, answer.answer


def test_foreign_words_is_off_unless_named() -> None:
    from rag.checks import enabled

    assert "foreign_words" not in [c.name for c in enabled()]
    assert "foreign_words" in [c.name for c in enabled("+foreign_words")]
