"""Which article says what: labels before sentences drawn from articles of different dates."""

from __future__ import annotations

import re

from conftest import MakeAssistant
from fakes import ScriptedGenerator, echo_sources

from rag.answer_text import render
from rag.attribution import leads, spoken_date
from rag.types import AnswerSentence, Citation


def cite(n: int, doc_id: str, date: str | None, source: str | None = "Reuters") -> Citation:
    return Citation(n=n, doc_id=doc_id, title="t", date=date, source=source, passage="p", quote="q")


def sent(text: str, *cited: int) -> AnswerSentence:
    return AnswerSentence(text, cited, True)


def test_spoken_dates_in_both_languages() -> None:
    assert spoken_date("2020-08", "en") == "August 2020"
    assert spoken_date("2020-08", "de") == "August 2020"
    assert spoken_date("2021-03", "de") == "März 2021"
    assert spoken_date("2020-09-14", "en") == "14 September 2020"
    assert spoken_date("2020-09-04", "de") == "4. September 2020"
    assert spoken_date("2020-13", "en") == "2020-13"
    assert spoken_date("autumn", "en") == "autumn"


def test_articles_of_different_dates_are_named_once_per_run() -> None:
    citations = [cite(1, "a", "2020-08"), cite(2, "a", "2020-08"), cite(3, "b", "2020-09", "dpa-AFX")]
    sentences = [sent("He is 65.", 1), sent("He has ruled for 26 years.", 2), sent("He is 66.", 3)]
    assert leads(sentences, citations, "en") == ["Reuters, August 2020: ", "", "dpa-AFX, September 2020: "]
    assert render(sentences, leads=leads(sentences, citations, "en")) == (
        "Reuters, August 2020: He is 65 [1]. He has ruled for 26 years [2]. dpa-AFX, September 2020: He is 66 [3].")


def test_one_date_or_an_undated_article_gets_no_labels() -> None:
    same = [cite(1, "a", "2020-08"), cite(2, "b", "2020-08", "AFP")]
    sentences = [sent("X.", 1), sent("Y.", 2)]
    assert leads(sentences, same, "en") == ["", ""]
    undated = [cite(1, "a", "2020-08"), cite(2, "b", None)]
    assert leads(sentences, undated, "en") == ["", ""]


def test_a_sentence_grounded_by_two_articles_names_both_and_a_missing_agency_leaves_the_date() -> None:
    citations = [cite(1, "a", "2020-08", None), cite(2, "b", "2021-02", "dpa")]
    sentences = [AnswerSentence("Beide zusammen sagen es.", (1, 2), True, grounded_by=2), sent("Nur einer.", 2)]
    assert leads(sentences, citations, "de") == ["August 2020 und dpa, Februar 2021: ", "dpa, Februar 2021: "]


def test_articles_that_only_corroborate_a_sentence_label_nothing() -> None:
    """Further articles stating the same fact say nothing about which article says what."""
    citations = [cite(1, "a", "2025-07"), cite(2, "b", "2020-09", "dpa-AFX"), cite(3, "c", "2025-07")]
    one = [sent("He has ruled for 26 years.", 1, 2)]
    assert leads(one, citations, "en") == [""]
    assert render(one, leads(one, citations, "en")) == "He has ruled for 26 years [1][2]."
    two = [sent("He has ruled for 26 years.", 1, 2), sent("He is 66.", 3)]
    assert leads(two, citations, "en") == ["", ""], "the grounding articles share one date"
    dated = [sent("He has ruled for 26 years.", 1, 3), sent("He is 66.", 2)]
    assert leads(dated, citations, "en") == ["Reuters, July 2025: ", "dpa-AFX, September 2020: "]


def test_the_answer_says_which_article_says_what_and_the_checked_sentences_stay_as_written(
        make_assistant: MakeAssistant) -> None:
    answer = make_assistant(ScriptedGenerator(echo_sources(1, 2, 3, 4))).ask("Proteste gegen Lukaschenko seit der Wahl")
    assert not answer.refused and len(answer.sentences) >= 2
    dates = {c.n: c.date for c in answer.citations}
    assert len(set(dates.values())) == 2, "the seeds evidence should span two months"
    for s in answer.sentences:
        assert not re.match(r"^\w[\w-]*, \w+ \d{4}: ", s.text)
    labels = re.findall(r"(?:^|\]\S* )((?:[\w-]+, )?\w+ \d{4}(?: und (?:[\w-]+, )?\w+ \d{4})*): ", answer.answer)
    assert len(labels) >= 2 and labels[0] != labels[1]
    assert answer.answer.startswith(labels[0])
