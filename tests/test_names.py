"""Names in answers and sources: which words are names, and whether a text names them by spelling."""

from __future__ import annotations

from rag.names import name_in, names
from rag.textnorm import fold


def test_names() -> None:
    assert names("The talks between Putin and Lukaschenko were in Sotschi.") == {"putin", "lukashenko", "sochi"}


def test_an_acronym_is_a_name_even_where_the_sentence_opens() -> None:
    assert names("The USA and the EU have imposed sanctions.") == {"usa", "eu"}
    assert names("NATO rejected the claims at 9 AM on TV.") == {"nato"}, "a time of day or the screen is no name"
    assert names("Die ÖVP und die SPÖ stimmten zu.") >= {fold("ÖVP"), fold("SPÖ")}


def test_a_who_question_is_answered_by_an_organisation_s_acronym() -> None:
    from rag.checks import Context, Grounding
    from rag.checks.fact_kind import fact_kind
    from rag.grounded import new_facts

    question = "Who has imposed sanctions over the election?"
    claim = "The USA and the EU have imposed sanctions over the election."
    facts = frozenset(new_facts(claim, question, "en")[1])
    assert fact_kind([Grounding(claim, None, None, new_facts=facts)], Context(question, "en", []))
    restated = "Sanctions have been imposed over the election."
    assert not fact_kind([Grounding(restated, None, None, new_facts=frozenset(new_facts(restated, question, "en")[1]))],
                         Context(question, "en", []))


def test_title_and_institution_words_are_not_names() -> None:
    found = names("He met the Deputy Head of the Russian Security Council, former Prime Minister Dmitri Medvedev.")
    assert {"dmitri", "medvedev"} <= found
    assert not found & {"security", "council", "deputy", "former", "prime", "minister", "head"}


def test_a_name_stands_in_a_text_spelled_alike_or_close() -> None:
    text = "Swetlana Tichanowskaja traf Alexander Lukaschenko in Sotschi."
    assert name_in(fold("Lukashenko"), text) and name_in(fold("Sochi"), text)
    assert name_in(fold("Tikhanovskaya"), text), "transliterations differ in more than one letter"
    assert not name_in(fold("Steinmeier"), text) and not name_in(fold("Merkel"), text)


def test_a_translated_name_is_not_a_spelling() -> None:
    """No table of exonyms: a translated name ("Moscow" for "Moskau") is not a spelling of it."""
    assert not name_in(fold("Moscow"), "Lawrow sprach in Moskau.")
    assert not name_in(fold("Sunday"), "Am Sonntag demonstrierten Tausende.")
