"""Which article says what, when the cited articles are of different dates.

A fact can change with the article's date: Lukashenko is 65 in an August
article and 66 in a September one. An answer that cites both must not read as
if one of them were wrong, so each run of sentences drawn from one article is
led by that article's agency and date ("Reuters, August 2020: ..."). Answers
whose sources share one date, or carry no date, read as the model wrote them.

Only the quotes that ground a sentence label it, not the further articles that
corroborate it: those state the same fact, so their dates tell the reader nothing
about which article says what. Labelled by every cited article, a corroborated
one-sentence answer read "July 2025 and September 2020: Lukashenko has been in
power for 26 years [1][2]" (seeds-tune q03, session 27), and the label appeared
only when the corroborating quote arrived, after the answer was shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.language import MONTH_NAMES
from rag.types import AnswerSentence, Citation

_ISO = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def spoken_date(date: str, lang: str) -> str:
    """"2020-08" as "August 2020", "2020-08-16" as "16 August 2020" (German: "16. August 2020")."""
    m = _ISO.match(date)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return date
    month = MONTH_NAMES.get(lang, MONTH_NAMES["en"])[int(m.group(2)) - 1]
    if not m.group(3):
        return f"{month} {m.group(1)}"
    day = int(m.group(3))
    return f"{day}. {month} {m.group(1)}" if lang == "de" else f"{day} {month} {m.group(1)}"


def source_label(citation: Citation, lang: str) -> str:
    """"Reuters, August 2020"; the date alone when the agency is unknown."""
    assert citation.date is not None
    when = spoken_date(citation.date, lang)
    return f"{citation.source}, {when}" if citation.source else when


def leads(sentences: Sequence[AnswerSentence], citations: Sequence[Citation], lang: str) -> list[str]:
    """For each sentence, the label to put before it ("" for none).

    Labels appear only when the articles that ground the answer's sentences
    have at least two different dates, and only where the article changes from
    the sentence before, so a run of sentences from one article is labelled
    once. A sentence grounded by two articles (facts that no one sentence
    states together) names both.
    """
    by_n = {c.n: c for c in citations}
    grounding = [s.citations[: s.grounded_by] for s in sentences]
    dates = {by_n[n].date for cited in grounding for n in cited if n in by_n}
    if None in dates or len(dates) < 2:
        return ["" for _ in sentences]
    of_doc = {c.doc_id: c for c in citations}
    joiner = " und " if lang == "de" else " and "
    out: list[str] = []
    previous: tuple[str, ...] = ()
    for cited in grounding:
        docs = tuple(dict.fromkeys(by_n[n].doc_id for n in cited if n in by_n))
        if not docs or docs == previous:
            out.append("")
        else:
            out.append(joiner.join(source_label(of_doc[d], lang) for d in docs) + ": ")
        previous = docs or previous
    return out
