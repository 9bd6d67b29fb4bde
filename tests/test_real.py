"""Real-model tier: the bundled models, the seeds index, the must-show questions.

Skipped (with the reason) when the models or the index are missing; CI runs
``scripts/setup.sh`` first, so there they always run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from headline import HELP, PROMISE, check_headline

from rag.errors import RagError
from rag.language import detect_language, foreign_spans
from rag.settings import Settings

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def assistant():
    from rag.factory import build_assistant

    try:
        return build_assistant(Settings.from_env())
    except RagError as exc:
        pytest.skip(f"real models or index missing: {exc}")


def test_headline_question_sources_promises_from_three_articles(assistant):
    """Retrieval's best six sentences of the top eight passages hold the promises of at least three articles.

    Which of them the 1.5B model then cites varies with the smallest numeric
    change (the int8 export, the CPU's kernels): the eval's completeness figure
    measures that over the synthesis items, not one sample here.
    """
    evidence = assistant.retriever.retrieve("What did Putin promise Lukashenko?", 8, 6).evidence
    promising = {e.passage.doc_id for e in evidence if PROMISE.search(e.sentence.text)}
    assert len(promising) >= 3, [e.sentence.text for e in evidence]


def test_headline_question_says_what_help_was_promised_in_english_and_cites_it(assistant):
    """The answer names the promised help, in English, from promise sentences, or the refusal shows them.

    Which words it takes varies with the smallest numeric change: when a fresh ingest embedded the
    seeds in a new batch order (cosine 0.975 between the two sets of vectors), the answer turned
    from "military help" to "comprehensive help ("umfassende Hilfe")"; on an Intel Xeon the focused
    read refused the draft (``tests/headline.py``).
    """
    ans = assistant.ask("What did Putin promise Lukashenko?")
    check_headline(ans.answer, ans.refused, [c.quote for c in ans.citations])
    assert ans.timings.first_token_s is not None, "the draft was generated"


def test_german_words_are_put_into_english_when_asked_for(assistant):
    """With ``RAG_CHECKS=+foreign_words`` an English answer holds no run of German words.

    The check is run on a sentence that leaves German in, with the real model as translator, so it
    is tested on every CPU; the headline answer through the pipeline is checked too where this CPU's
    draft passes the checks. Off by default: it cost a held-out seeds-gate question (docs/history.md, session 17).
    """
    from rag.checks import Context
    from rag.checks.foreign_words import foreign_words
    from rag.factory import build_assistant
    from rag.translate import PhraseTranslator

    left = "Putin promised Lukashenko umfassende Hilfe if the security of Belarus was in danger."
    assert foreign_spans(left, "en")
    ctx = Context("What did Putin promise Lukashenko?", "en", [], translate=PhraseTranslator(assistant.generator))
    put = foreign_words(left, ctx)
    assert not foreign_spans(put, "en"), f"German left after the check: {put}"
    assert HELP.search(put) and "Lukashenko" in put and "Belarus" in put, put
    worded = build_assistant(Settings.from_env().with_overrides(checks="+foreign_words"),
                             embedder=assistant.retriever.embedder, generator=assistant.generator)
    ans = worded.ask("What did Putin promise Lukashenko?")
    if check_headline(ans.answer, ans.refused, [c.quote for c in ans.citations]):
        assert not foreign_spans(ans.answer, "en"), f"German left in an English answer: {ans.answer}"


def test_vote_share_english_is_answered_or_shown(assistant):
    """80.1 percent is the answer, or the refusal shows the sentence that states it.

    The draft "80.1%" met the answer judge at P(yes) 0.49 against a threshold of 0.5 (0.62 for
    "80,1 percent" in the calibration pairs): a verdict this close flips with the CPU's kernels.
    Either way the reader sees the sourced figure; what is never allowed is another number.
    """
    ans = assistant.ask("What share of the vote did Lukashenko get?")
    if ans.refused:
        assert any(re.search(r"80,1", c.quote) for c in ans.citations), (ans.answer, ans.citations)
    else:
        assert re.search(r"80[.,]1", ans.answer), ans.answer
    assert {c.doc_id[:3] for c in ans.citations} & {"001", "003"}, ans.citations


def test_vote_share_german_answer_in_german(assistant):
    ans = assistant.ask("Wie viel Prozent der Stimmen erhielt Lukaschenko?")
    assert not ans.refused, ans.draft
    assert "80,1" in ans.answer or "80.1" in ans.answer, ans.answer
    words = re.sub(r"\[\d+\]", "", ans.answer)
    assert detect_language(ans.answer) == "de" or not re.search(r"[^\W\d_]{3,}", words), ans.answer


def test_off_topic_question_is_refused(assistant):
    ans = assistant.ask("Who won the 2014 football World Cup?")
    assert ans.refused
    assert ans.answer == "The articles don't say."


def test_cli_json_contract_and_bad_input():
    empty = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "  "], capture_output=True, text=True)
    assert empty.returncode == 2 and empty.stderr.startswith("error:") and "Traceback" not in empty.stderr
    run = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "What share of the vote did Lukashenko get?",
                          "--json"], capture_output=True, text=True, timeout=600)
    if run.returncode == 2 and ("rag models fetch" in run.stderr or "rag ingest" in run.stderr):
        pytest.skip(run.stderr.strip())
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert set(data) >= {"question", "answer", "refused", "citations", "timings"}
    assert set(data["timings"]) == {"retrieve_s", "first_token_s", "total_s", "tokens_per_s", "verify_s", "checks",
                                     "prompt_tokens", "tokens", "rewrite_s", "checked_s", "corroborate_s", "sourced_s"}
    assert data["timings"]["prompt_tokens"] > 0 and data["timings"]["tokens"] > 0
    for c in data["citations"]:
        assert set(c) == {"n", "doc_id", "title", "date", "source", "passage", "quote"}
        assert c["quote"] in c["passage"]


def test_the_judges_p_yes_agrees_with_its_greedy_reply(assistant):
    """The judge's threshold is on P(yes) / (P(yes) + P(no)); 0.5 must be the greedy reply it replaced."""
    from rag.judge import ANSWER_SYSTEM, ask_yes_no, yes_score

    source = "Lukaschenko hatte sich mit 80,1 Prozent der Stimmen für eine sechste Amtszeit bestätigen lassen."
    cases = [("What share of the vote did Lukashenko get?", "Lukashenko got 80.1 percent of the vote."),
             ("What share of the vote did Lukashenko get?", "Lukashenko got 52 percent of the vote."),
             ("Who won the football match?", "Bayern Munich won 3-1.")]
    for question, answer in cases:
        user = f"Question: {question}\nSource: {source}\nAnswer: {answer}\n" \
               "Does the source give this answer to the question? Reply yes or no."
        p = yes_score(assistant.generator, ANSWER_SYSTEM, user)
        assert 0.0 <= p <= 1.0
        assert (p >= 0.5) == ask_yes_no(assistant.generator, ANSWER_SYSTEM, user), (answer, p)
    right = yes_score(assistant.generator, ANSWER_SYSTEM, f"Question: {cases[0][0]}\nSource: {source}\n"
                      f"Answer: {cases[0][1]}\nDoes the source give this answer to the question? Reply yes or no.")
    wrong = yes_score(assistant.generator, ANSWER_SYSTEM, f"Question: {cases[2][0]}\nSource: {source}\n"
                      f"Answer: {cases[2][1]}\nDoes the source give this answer to the question? Reply yes or no.")
    assert right > wrong


def test_the_llm_is_read_into_memory_not_left_mapped(assistant):
    """Mapped, the GGUF stayed in RSS beside llama.cpp's repacked copy of its weights (0.6 GB more)."""
    list(assistant.generator.stream([{"role": "user", "content": "Hi"}], max_tokens=1))
    gguf = str(assistant.generator.path)
    with open("/proc/self/maps") as maps:
        mapped = [line for line in maps if line.rstrip().endswith(gguf)]
    assert mapped == []
