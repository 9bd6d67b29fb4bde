"""Sentence splitting and chunking: offsets, German abbreviations and dates, passage sizes."""

from __future__ import annotations

import pytest
from conftest import SEEDS

from rag.chunk import chunk_document, split_sentences
from rag.parse import parse_file, parse_text
from rag.types import Document

DOCS = [parse_file(p) for p in sorted(SEEDS.glob("*.txt"))]
IDS = [d.doc_id[:3] for d in DOCS]


def body_sentences(doc: Document) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in split_sentences(doc.text, doc.body_start)]


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_sentence_offsets_point_into_the_document(doc: Document) -> None:
    sentences = split_sentences(doc.text, doc.body_start)
    assert len(sentences) > 5
    for s in sentences:
        assert doc.text[s.start:s.end] == s.text
        assert s.text == s.text.strip() and s.text
    starts = [s.start for s in sentences]
    assert starts == sorted(starts)
    for a, b in zip(sentences, sentences[1:], strict=False):
        assert a.end <= b.start


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_passage_and_sentence_offsets(doc: Document) -> None:
    for p in chunk_document(doc):
        assert doc.text[p.start:p.end] == p.text
        assert p.sentences and p.sentences[0].start == p.start and p.sentences[-1].end == p.end
        for s in p.sentences:
            assert doc.text[s.start:s.end] == s.text


def test_split_sentences_with_start_and_end() -> None:
    text = "Vorspann. Erster Satz hier. Zweiter Satz hier. Nachspann."
    start = text.index("Erster")
    end = text.index(" Nachspann")
    got = split_sentences(text, start, end)
    assert [s.text for s in got] == ["Erster Satz hier.", "Zweiter Satz hier."]
    assert [text[s.start:s.end] for s in got] == [s.text for s in got]


@pytest.mark.parametrize("text", [
    "Seit der Präsidentenwahl am 9. August steckt Belarus in einer Krise.",
    "Die Abstimmung am 9. August gilt als gefälscht.",
    "Am 1. Mai 2020 kam er nach Minsk.",
    "Sie belegte den 2. Platz im Wettbewerb.",
])
def test_dates_and_ordinals_are_not_split(text: str) -> None:
    got = split_sentences(text + " Danach kam es zu Protesten.")
    assert [s.text for s in got] == [text, "Danach kam es zu Protesten."]


def test_9_august_in_the_seeds_stays_whole() -> None:
    found = [s.text for d in DOCS for s in split_sentences(d.text, d.body_start) if "9. August" in s.text]
    assert len(found) >= 4
    for text in found:
        assert not text.endswith("9."), text
        assert "9. August" in text and text.index("9. August") > 0


@pytest.mark.parametrize(("text", "expected"), [
    ("Zwischen St. Petersburg und Pskow sollen 30 bis 40 Lastwagen gesichtet worden sein. Das Militär dementierte.",
     ["Zwischen St. Petersburg und Pskow sollen 30 bis 40 Lastwagen gesichtet worden sein.",
      "Das Militär dementierte."]),
    ("Er traf Dr. Müller und Prof. Schmidt. Dann reiste er ab.",
     ["Er traf Dr. Müller und Prof. Schmidt.", "Dann reiste er ab."]),
    ("Das kostet ca. 200 Euro. Es gab z. B. Proteste. Gut.",
     ["Das kostet ca. 200 Euro.", "Es gab z. B. Proteste.", "Gut."]),
])
def test_abbreviations_are_not_split(text: str, expected: list[str]) -> None:
    assert [s.text for s in split_sentences(text)] == expected


def test_st_petersburg_in_seed_004() -> None:
    doc = DOCS[4]
    texts = [s.text for s in split_sentences(doc.text, doc.body_start)]
    assert any(t.startswith("Zwischen St. Petersburg und Pskow") for t in texts)
    assert not any(t.endswith(" St.") for t in texts)


def test_quotes_questions_and_line_breaks_split() -> None:
    text = "Er sagte: „Wir bleiben.“ Dann ging er. Warum? Niemand weiß es\nNeue Zeile ohne Punkt"
    assert [s.text for s in split_sentences(text)] == [
        "Er sagte: „Wir bleiben.“", "Dann ging er.", "Warum?", "Niemand weiß es", "Neue Zeile ohne Punkt"]


def test_year_at_sentence_start_splits() -> None:
    assert [s.text for s in split_sentences("Er wurde 1990 geboren. 1991 zog er um.")] == [
        "Er wurde 1990 geboren.", "1991 zog er um."]


@pytest.mark.parametrize("max_chars", [200, 300, 500, 800])
@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_passages_respect_chunk_chars(doc: Document, max_chars: int) -> None:
    """A passage longer than max_chars holds one sentence, after any one-line headings that introduce it."""
    for p in chunk_document(doc, max_chars):
        if len(p.text) <= max_chars:
            continue
        *headings, last = p.sentences
        assert len(last.text) > max_chars or headings, (max_chars, p.text)
        for h, nxt in zip(headings, p.sentences[1:], strict=True):
            assert "\n" in doc.text[h.end:nxt.start] and len(h.text) < 120, (max_chars, p.text)


@pytest.mark.parametrize("max_chars", [120, 500])
@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_every_body_sentence_is_in_exactly_one_passage(doc: Document, max_chars: int) -> None:
    passages = chunk_document(doc, max_chars)
    in_passages = [(s.start, s.end) for p in passages for s in p.sentences]
    assert sorted(in_passages) == body_sentences(doc)
    assert len(set(in_passages)) == len(in_passages)
    ordered = [(p.start, p.end) for p in passages]
    assert ordered == sorted(ordered)
    for a, b in zip(passages, passages[1:], strict=False):
        assert a.end <= b.start


def test_passage_ids_and_ordinals() -> None:
    passages = chunk_document(DOCS[1], 500, first_id=10)
    assert [p.passage_id for p in passages] == list(range(10, 10 + len(passages)))
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    assert {p.doc_id for p in passages} == {DOCS[1].doc_id}


def test_small_chunk_chars_gives_more_passages() -> None:
    doc = DOCS[0]
    assert len(chunk_document(doc, 150)) > len(chunk_document(doc, 500)) > len(chunk_document(doc, 5000))


def test_chunks_do_not_cross_paragraphs_but_headings_join_the_next() -> None:
    doc = parse_text("x", "Titelzeile ohne Punkt\n\nErster Absatz, Satz eins. Satz zwei.\n\nZwischentitel\n\n"
                          "Zweiter Absatz hier. Noch ein Satz.")
    texts = [p.text for p in chunk_document(doc, 5000)]
    assert texts == ["Erster Absatz, Satz eins. Satz zwei.", "Zwischentitel\n\nZweiter Absatz hier. Noch ein Satz."]


def test_heading_in_seed_000_joins_its_paragraph() -> None:
    passages = chunk_document(DOCS[0], 500)
    holder = [p for p in passages if "PUTIN: HELFEN" in p.text]
    assert len(holder) == 1
    assert holder[0].sentences[0].text == "PUTIN: HELFEN IM RAHMEN VON MILITÄRBÜNDNIS"
    assert len(holder[0].sentences) > 1


def test_sentence_longer_than_chunk_chars_stays_whole() -> None:
    long = "Dies ist ein sehr langer Satz " + "mit vielen Wörtern " * 20 + "am Ende."
    doc = parse_text("x", f"Kurz davor. {long} Kurz danach.")
    passages = chunk_document(doc, 100)
    assert [p.text for p in passages] == ["Kurz davor.", long, "Kurz danach."]


def test_sentence_ending_in_parenthesis_does_not_break_the_size_limit() -> None:
    doc = parse_text("x", 'Er sagte: "Ich bin in der Sowjetunion geboren. (...) Wir können uns selbst versorgen", '
                          "meinte er. Danach ging er.")
    passages = chunk_document(doc, 60)
    assert all(len(p.text) <= 60 for p in passages), [p.text for p in passages]


def test_seed_003_respects_small_chunk_chars() -> None:
    doc = DOCS[3]
    too_long = [p.text for p in chunk_document(doc, 120) if len(p.text) > 120 and len(p.sentences) > 1]
    assert too_long == []
