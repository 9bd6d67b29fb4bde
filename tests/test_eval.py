"""The evaluation metrics can fail: shuffled citations lower precision, invented numbers fail correctness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fakes import FakeEmbedder, overlap_judge

from rag.eval import gates, metrics
from rag.eval.judge import LlmSupportJudge, Pair, agreement
from rag.eval.runner import QAItem, Row, gold_passages, judge_answer, load_qa, score_row, summarize_seeds
from rag.store import Snapshot
from rag.types import Answer, AnswerSentence, Citation, Timings

VOTE = "Der Staatschef ließ sich mit 80,1 Prozent der Stimmen für eine sechste Amtszeit bestätigen."
SOCHI = "Zuletzt hatten sich die beiden Politiker Mitte September in der russischen Stadt Sotschi getroffen."


def citation(n: int, passage: str) -> Citation:
    return Citation(n, "001_x", "t", "2020-09", "dpa-AFX", passage, passage)


def answer_with(cites: dict[int, str], sentences: list[tuple[str, int]]) -> Answer:
    return Answer("q", " ".join(t for t, _ in sentences), False,
                  tuple(citation(n, p) for n, p in cites.items()),
                  sentences=tuple(AnswerSentence(t, (n,), True) for t, n in sentences))


def precision_recall(answer: Answer) -> tuple[float, float]:
    row = Row(QAItem("x", "q"), answer=answer)
    row.citation_verdicts, row.sentence_support = judge_answer(answer, "q", {"fake": LlmSupportJudge(overlap_judge)})
    totals = summarize_seeds([row], retrieval_only=False)
    return totals["citation_precision"], totals["citation_recall"]


def test_shuffled_citation_numbers_drop_precision_and_recall() -> None:
    sentences = [("He got 80.1 percent of the Stimmen.", 1), ("They met in Sotschi.", 2)]
    right = answer_with({1: VOTE, 2: SOCHI}, sentences)
    shuffled = answer_with({1: SOCHI, 2: VOTE}, sentences)
    assert precision_recall(right) == (1.0, 1.0)
    p, r = precision_recall(shuffled)
    assert p < 0.5 and r < 0.5


def test_invented_number_fails_correctness() -> None:
    facts = [("80.1", "80,1")]
    corpus = {"80.1", "26"}
    assert metrics.is_correct("He got 80.1 percent [1].", False, facts, corpus)
    assert not metrics.is_correct("He got 80.1 percent, 85 in Minsk [1].", False, facts, corpus)
    assert not metrics.is_correct("He got 85 percent [1].", False, facts, corpus)
    assert not metrics.is_correct("The articles don't say.", True, facts, corpus)


def test_a_date_is_one_fact_however_it_is_written() -> None:
    """XQuAD's gold "8 February 2007" (and the passage's "8. Februar 2007") against an American English answer."""
    for answer in ("on February 8, 2007 [1].", "am 8. Februar 2007", "on 8th February 2007"):
        assert metrics.fact_present(answer, ["8 February 2007"]), answer
        assert metrics.fact_present(answer, ["8. Februar 2007"]), answer
    assert metrics.fact_present("in February 2007", ["Februar 2007"])
    assert metrics.fact_present("on March 3", ["3. März"])
    assert not metrics.fact_present("on February 18, 2007", ["8 February 2007"])
    assert not metrics.fact_present("on February 8, 2008", ["8 February 2007"])
    assert not metrics.fact_present("on March 8, 2007", ["8 February 2007"])
    assert metrics.fact_present("7,000,000 square kilometres", ["7.000.000 square kilometers"])
    assert metrics.token_f1("February 8, 2007", "8 February 2007") == 1.0


def test_numbers_are_normalised_and_markers_are_not_numbers() -> None:
    assert metrics.fact_present("Er erhielt 80,1 Prozent.", ["80.1"])
    assert metrics.fact_present("200,000 people", ["200.000"])
    assert metrics.invented_numbers("It was 80.1 percent [3][4].", {"80.1"}) == set()


def test_synthesis_needs_one_fact_for_correctness_and_reports_completeness() -> None:
    facts = [("military", "militär"), ("loan", "Kredit"), ("security forces",)]
    text = "He promised military help [1] and a loan [2]."
    assert metrics.is_correct(text, False, facts, set(), need_all=False)
    assert not metrics.is_correct(text, False, facts, set(), need_all=True)
    assert abs(metrics.facts_covered(text, facts) - 2 / 3) < 1e-9


def test_retrieval_metrics() -> None:
    m = metrics.retrieval_metrics([1, 3, None, 7])
    assert m["recall@1"] == 0.25 and m["recall@5"] == 0.5 and m["recall@10"] == 0.75
    assert abs(m["mrr"] - (1 + 1 / 3 + 1 / 7) / 4) < 1e-9


def test_token_f1() -> None:
    assert abs(metrics.token_f1("in Sochi on Monday", "Sochi") - 0.4) < 1e-9  # P 1/4, R 1
    assert metrics.token_f1("Minsk", "Sochi") == 0.0


def test_judge_agreement_counts_both_kinds_of_error() -> None:
    pairs = [Pair("80.1 percent Stimmen", VOTE, True), Pair("85 percent Stimmen", VOTE, False),
             Pair("Sotschi", SOCHI, False)]
    a = agreement(LlmSupportJudge(overlap_judge), pairs)
    assert a["agreement"] == 2 / 3 and a["recall"] == 1.0 and a["precision"] == 0.5


def test_seeds_qa_set_is_complete_and_its_quotes_are_real(snapshot: Snapshot) -> None:
    items = load_qa()
    kinds = {k: sum(i.kind == k for i in items) for k in {i.kind for i in items}}
    assert len(items) >= 40
    assert kinds.keys() >= {"fact", "synthesis", "german", "followup", "unanswerable", "dated"}
    assert any("80.1" in f for i in items for f in i.facts)
    for item in items:
        if item.answerable:
            assert item.facts and item.support, item.id
            assert gold_passages(item, snapshot), f"{item.id}: no passage holds its support quotes"
        else:
            assert not item.facts


def test_gates_file_and_check(tmp_path: Path) -> None:
    for g in gates.load():
        assert {"dataset", "metric", "gate", "set", "figure"} <= set(g)
        upper = g.get("direction") == "max"
        assert (g["figure"] <= g["gate"]) if upper else (g["figure"] >= g["gate"]), g
    report = {"datasets": {"seeds": {"totals": {"answer_correctness": 0.5, "recall@5": 1.0}}}}
    results = gates.check(report, [
        {"dataset": "seeds", "metric": "answer_correctness", "gate": 0.8},
        {"dataset": "seeds", "metric": "recall@5", "gate": 0.95},
        {"dataset": "seeds", "metric": "missing", "gate": 0.1},
        {"dataset": "xquad", "metric": "fused.recall@5", "gate": 0.95},
    ])
    assert [r["ok"] for r in results] == [False, True, False]
    assert json.dumps(results)


def test_retrieval_only_run_leaves_answer_gates_out_but_still_fails_a_missing_retrieval_figure() -> None:
    report = {"datasets": {"seeds": {"totals": {"recall@5": 0.9}}}}
    results = gates.check(report, [
        {"dataset": "seeds", "metric": "answer_correctness", "gate": 0.8},
        {"dataset": "seeds", "metric": "recall@5", "gate": 0.95},
        {"dataset": "seeds", "metric": "mrr", "gate": 0.5},
    ], answers_measured=False)
    assert [(r["metric"], r["ok"], r["value"]) for r in results] == [("recall@5", False, 0.9), ("mrr", False, None)]


def test_reports_render_xquad_answer_rows(capsys: object) -> None:
    from rag.eval.runner import print_table, render_markdown

    row = {"id": "x1", "question": "Who?", "answer": "Tesla [1].", "refused": False, "gold": ["Tesla"],
           "contains_gold": True, "token_f1": 1.0, "citations": [{"n": 1, "doc_id": "p1", "quote": "Tesla kam."}],
           "citation_verdicts": [{"sentence": "Tesla.", "n": 1, "doc_id": "p1", "llm": True, "supports": True}],
           "unverified": {"answer": "Edison [2].", "contains_gold": False}}
    report = {"created": "now", "datasets": {"xquad": {"totals": {"questions": 1}, "rows": [row]}}}
    print_table(report)
    md = render_markdown(report)
    assert "gold answer contained" in md and "without verification: Edison [2]." in md and "llm yes" in md
    assert "ok  x1" in capsys.readouterr().err  # type: ignore[attr-defined]


def test_one_set_of_gates_applies_on_every_cpu() -> None:
    """The export is the same on every CPU (7-bit weights), so no gate names a CPU class."""
    import inspect

    loaded = gates.load()
    assert loaded and not any("cpu" in g for g in loaded)
    assert "cpuinfo" not in inspect.getsource(gates)
    seeds = {g["metric"] for g in loaded if g["dataset"] == "seeds-gate"}
    assert {"answer_correctness", "refusal_accuracy", "answered_wrong", "recall@5"} <= seeds
    assert not any(g["dataset"] == "seeds-tune" for g in loaded)
    assert {g["metric"] for g in loaded if g["dataset"] == "xquad"} == {"fused.recall@5", "fused.recall@1"}


def test_an_upper_gate_fails_when_its_figure_rises_above_it() -> None:
    report = {"datasets": {"d": {"totals": {"answered_wrong": 0.2, "answer_correctness": 0.9}}}}
    results = gates.check(report, [{"dataset": "d", "metric": "answered_wrong", "direction": "max", "gate": 0.1},
                                   {"dataset": "d", "metric": "answer_correctness", "gate": 0.8}])
    assert [r["ok"] for r in results] == [False, True]


def test_latency_totals_include_the_time_to_the_checked_answer() -> None:
    """The draft ends at ``total_s``; the reader's checked answer comes ``verify_s`` later."""
    timings = [Timings(first_token_s=1.0, total_s=2.0, verify_s=3.0), Timings(first_token_s=1.0, total_s=4.0)]
    rows = [Row(QAItem(f"x{i}", "q"), answer=Answer("q", "a", False, timings=t)) for i, t in enumerate(timings)]
    totals = summarize_seeds(rows, retrieval_only=False)
    assert totals["total_s"]["mean"] == pytest.approx(3.0)
    assert totals["checked_s"]["mean"] == pytest.approx(4.5)
    assert "checked_s" in metrics.DEFINITIONS and "first_token_s" in metrics.DEFINITIONS


def test_risk_coverage_counts_wrong_answers_apart_from_refusals() -> None:
    # answered right, answered wrong, refused (answerable), refused (unanswerable), answered (unanswerable)
    figures = metrics.risk_coverage([(True, False), (True, True), (False, True), (False, True), (True, True)])
    assert figures == {"answered_wrong": pytest.approx(0.4), "coverage": pytest.approx(0.6),
                       "risk": pytest.approx(2 / 3)}
    assert metrics.risk_coverage([]) == {"answered_wrong": 0.0, "coverage": 0.0, "risk": 0.0}


def test_answered_wrong_counts_an_answered_unanswerable_item_and_not_a_refusal() -> None:
    items = [QAItem("a", "q", facts=(("80.1",),)), QAItem("b", "q", facts=(("80.1",),)),
             QAItem("c", "q", answerable=False), QAItem("d", "q", answerable=False)]
    answers = [Answer("q", "He got 80.1 percent.", False), Answer("q", "He got 70 percent.", False),
               Answer("q", "Invented.", False), Answer("q", "The articles don't say.", True)]
    rows = []
    for item, ans in zip(items, answers, strict=True):
        row = Row(item)
        score_row(row, ans, ans, {"80.1", "70"}, {})
        rows.append(row)
    totals = summarize_seeds(rows, retrieval_only=False)
    assert totals["answer_correctness"] == 0.5
    assert totals["answered_wrong"] == 0.5 and totals["coverage"] == 0.75
    assert totals["unanswerable_refused"] == 0.5
    assert totals["verification"]["off"]["answered_wrong"] == 0.5


def test_german_words_left_in_english_answers_are_counted_over_answered_english_items() -> None:
    answers = [("en", "The Manned Spacecraft Center (Zentrum für bemannte Raumfahrt) [1].", False),
               ("en", "Lukashenko got 80.1 percent [1].", False),
               ("en", "Die Artikel sagen dazu nichts, they provide umfassende Hilfe.", True),
               ("de", "Putin sagte umfassende Hilfe zu [1].", False)]
    assert metrics.untranslated(answers) == 0.5, "refusals and German questions are not counted"
    assert metrics.untranslated(answers[2:]) is None
    rows = []
    for item, text in ((QAItem("a", "q", facts=(("80.1",),)), "He got 80.1 percent, an extrem-spekulativ result."),
                       (QAItem("b", "q", lang="de", facts=(("80.1",),)), "Er erhielt 80,1 Prozent.")):
        row = Row(item)
        score_row(row, Answer("q", text, False), Answer("q", text, False), {"80.1"}, {})
        rows.append(row)
    totals = summarize_seeds(rows, retrieval_only=False)
    assert totals["untranslated"] == 1.0 and totals["verification"]["off"]["untranslated"] == 1.0
    from rag.eval.xquad import _summary

    scored = [{"answer": "Jesus the Dolmetscher von Spanien [1].", "refused": False, "contains_gold": True,
               "token_f1": 1.0, "citation_verdicts": [], "sentence_support": []},
              {"answer": "Tesla [1].", "refused": False, "contains_gold": True, "token_f1": 1.0,
               "citation_verdicts": [], "sentence_support": []}]
    assert _summary(scored, [])["untranslated"] == 0.5


def test_german_words_in_english_answers_are_gated_on_both_answer_sets() -> None:
    loaded = [g for g in gates.load() if g["metric"] == "untranslated"]
    assert {g["dataset"] for g in loaded} == {"seeds-gate", "gnad"}
    assert all(g["direction"] == "max" and g["floor"] == 0.0 for g in loaded)
    gate = [{"dataset": "d", "metric": "untranslated", "direction": "max", "gate": 0.08}]
    report = {"datasets": {"d": {"totals": {"untranslated": 2 / 13}}}}
    assert [r["ok"] for r in gates.check(report, gate)] == [False]
    assert gates.check(report, gate, answers_measured=False) == [], "a retrieval-only run answers nothing"


def test_the_seeds_split_is_fixed_disjoint_and_covers_every_kind(tmp_path: Path) -> None:
    from rag.eval.runner import qa_dataset
    from rag.settings import Settings

    items = load_qa()
    settings = Settings(home=tmp_path)
    _, tune, _ = qa_dataset("seeds-tune", settings, FakeEmbedder())
    _, gate, _ = qa_dataset("seeds-gate", settings, FakeEmbedder())
    assert {i.split for i in items} == {"tune", "gate"}
    assert not {i.id for i in tune} & {i.id for i in gate}
    assert len(tune) + len(gate) == len(items)
    assert {i.kind for i in tune} == {i.kind for i in gate} == {i.kind for i in items}
    assert abs(len(tune) - len(gate)) <= 2
    assert any(not i.answerable for i in gate)


def test_the_seeds_are_asked_over_an_index_of_the_seeds_alone(tmp_path: Path, seeds_dir: Path) -> None:
    """Not the user's index: a stray article there (a second copy of a seed) changed the seeds figures."""
    from rag.eval.runner import SEEDS_DIR, qa_dataset, seeds_index
    from rag.ingest import Ingestor
    from rag.settings import Settings
    from rag.store import Store

    settings = Settings(home=tmp_path, index_dir=tmp_path / "user-index")
    Ingestor(Store(settings.index_path), FakeEmbedder(), 500).ingest([seeds_dir, SEEDS_DIR])
    assert len(Store(settings.index_path).load().documents) == 2 * len(list(SEEDS_DIR.glob("*.txt")))
    _, _, asked = qa_dataset("seeds-gate", settings, FakeEmbedder())
    assert asked.index_path != settings.index_path
    docs = Store(asked.index_path).load().documents
    assert sorted(docs[d].path for d in docs) == sorted(str(f) for f in SEEDS_DIR.glob("*.txt"))
    other = tmp_path / "another-checkout" / "seeds"
    shutil.copytree(SEEDS_DIR, other)
    asked_there = seeds_index(settings, FakeEmbedder(), other)
    assert asked_there.root == asked.index_path, "one seeds index per embedder"
    docs = Store(asked.index_path).load().documents
    assert sorted(docs) == sorted(f.stem for f in other.glob("*.txt")), \
        "the seeds of another checkout are the same articles, never a second copy"


def test_the_plain_baseline_prompt_is_the_shared_one() -> None:
    import ast

    from rag.eval.designs import PLAIN_PROMPT

    shared = Path(__file__).resolve().parents[2] / "shared" / "baselines" / "plain_rag.py"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent")
    tree = ast.parse(shared.read_text())
    prompt = next(ast.literal_eval(n.value) for n in ast.walk(tree)
                  if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "PROMPT" for t in n.targets))
    assert prompt == PLAIN_PROMPT


def test_the_plain_baseline_answers_from_whole_passages_and_refuses_on_dont_know(make_assistant: object) -> None:
    from fakes import ScriptedGenerator

    from rag.eval.designs import plain_answer

    assistant = make_assistant()  # type: ignore[operator]
    gen = ScriptedGenerator("I don't know.")
    ans = plain_answer("How many votes did Lukashenko get?", assistant.retriever, gen)
    assert ans.refused and not ans.citations
    prompt = gen.messages[-1]["content"]
    retrieved = assistant.retriever.retrieve("How many votes did Lukashenko get?", 4, 6)
    passages = {e.passage.text for e in retrieved.evidence}
    assert prompt.startswith("Use the following pieces of context") and passages
    assert all(p in prompt for p in passages), "the baseline shows whole passages, not sentences"
    assert plain_answer("q?", assistant.retriever, ScriptedGenerator("He got 80.1 percent.")).refused is False


def test_gnad_articles_hold_the_question_articles_and_gold_docs_first(tmp_path: Path) -> None:
    from rag.eval import gnad

    files = [tmp_path / f"gnad_{i:04d}.txt" for i in range(400)]
    chosen = gnad.chosen_articles(files, 120, {"gnad_0399"})
    assert len(chosen) == 120 and chosen == sorted(chosen)
    assert set(gnad.question_articles(files)) <= set(chosen) and tmp_path / "gnad_0399.txt" in chosen
    assert gnad.chosen_articles(files, 120, {"gnad_0399"}) == chosen
    assert gnad.chosen_articles(files, None, set()) == files


def test_gnad_qa_set_quotes_stand_in_the_archive() -> None:
    from rag.eval import gnad

    items = load_qa(Path(__file__).resolve().parents[1] / "rag" / "data" / "gnad_qa.jsonl")
    kinds = {k: sum(i.kind == k for i in items) for k in {i.kind for i in items}}
    assert len(items) >= 60 and kinds["unanswerable"] >= 10 and kinds["german"] >= 10 and kinds["synthesis"] >= 5
    assert len({i.id for i in items}) == len(items)
    try:
        folder = gnad.article_files()[0].parent
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"GNAD archive absent: {exc}")
    for item in items:
        assert item.answerable == bool(item.facts) == bool(item.support), item.id
        for doc_id, quote in item.support:
            assert quote in (folder / f"{doc_id}.txt").read_text(encoding="utf-8"), item.id


def test_ablation_reassembles_the_same_draft_with_each_check_off(make_assistant: object) -> None:
    from fakes import ScriptedGenerator

    from rag.eval.runner import run_seeds

    # The draft restates the question with no new fact; fact_kind refuses it, and with fact_kind off it stands.
    gen = ScriptedGenerator("Lukaschenko spoke about Lukaschenko and the protests.")
    assistant = make_assistant(gen)  # type: ignore[operator]
    items = [QAItem("k", "Who is the Kremlin spokesman?", facts=(("Peskow",),)),
             QAItem("u", "Who did Lukaschenko meet during the protests?", answerable=False)]
    rows = run_seeds(assistant, assistant.retriever, {}, items, retrieval_only=False, progress=False,
                     ablate=["fact_kind", "focused_read"])
    totals = summarize_seeds(rows, retrieval_only=False)
    assert len(gen.calls) == 2, "one generation per question, whatever is ablated"
    assert totals["unanswerable_refused"] == 1.0
    assert totals["ablation"]["fact_kind"]["unanswerable_refused"] == 0.0
    assert totals["ablation"]["fact_kind"]["answered_wrong"] == 1.0
    assert set(totals["ablation"]) == {"fact_kind", "focused_read"}
    assert totals["ablation"]["fact_kind"]["untranslated"] == 0.0, "the answer with fact_kind off leaves no German"
    from rag.eval.runner import render_markdown, row_json

    md = render_markdown({"created": "now", "datasets": {"seeds": {"totals": totals, "rows": []}}})
    table = md[md.index("### Each check off in turn"):].splitlines()
    assert table[2] == "| check off | answer_correctness | answered_wrong | unanswerable_refused | untranslated |"
    assert table[4].startswith("| none (the product) | ") and table[5].startswith("| fact_kind | ")
    assert "1.000" in table[5].split("|")[3], "fact_kind off: the unanswerable question answered wrongly"
    verification = {"on": {"contains_gold": 0.43, "refused": 0.34}, "off": {"contains_gold": 0.5, "refused": 0.01},
                    "verify_s": 1.0, "check_cost_mean_s": {}, "llm_judge_s_per_call": 0.0}
    xquad = {"answers": {"contains_gold": 0.43, "refused": 0.34}, "verification": verification,
             "ablation": {"fact_kind": {"contains_gold": 0.44, "refused": 0.33}}}
    xmd = render_markdown({"created": "now", "datasets": {"xquad": {"totals": xquad, "rows": []}}})
    assert "| none (the product) | 0.430 | 0.340 |" in xmd, "XQuAD keeps its answer figures below the top"

    shown = row_json(rows[1])["ablated"]["fact_kind"]
    assert not shown["refused"] and shown["correct"] is False and "Lukaschenko spoke" in shown["answer"], shown
    assert "ablated" not in row_json(run_seeds(assistant, assistant.retriever, {}, items[:1], retrieval_only=False,
                                               progress=False)[0])


def test_ablate_takes_every_active_check_or_those_it_names() -> None:
    import argparse

    from rag import checks
    from rag.errors import InputError
    from rag.eval.runner import _ablations
    from rag.settings import Settings

    active = [c.name for c in checks.enabled("")]
    assert _ablations(argparse.Namespace(ablate="all"), "checked", Settings()) == active
    assert _ablations(argparse.Namespace(ablate="fact_kind, focused_read"), "checked", Settings()) == [
        "fact_kind", "focused_read"]
    assert _ablations(argparse.Namespace(ablate=None), "checked", Settings()) == []
    assert _ablations(argparse.Namespace(ablate="all"), "plain", Settings()) == [], "a baseline has no checks"
    assert _ablations(argparse.Namespace(ablate="tries=2,fact_kind"), "checked", Settings()) == ["tries=2", "fact_kind"]
    for bad in ("tries=0", "tries=two"):
        with pytest.raises(InputError, match=f"--ablate names '{bad}', which is neither an active check nor tries=N"):
            _ablations(argparse.Namespace(ablate=bad), "checked", Settings())
    with pytest.raises(InputError, match="--ablate names 'foreign_words', which is neither an active check"):
        _ablations(argparse.Namespace(ablate="foreign_words"), "checked", Settings())


@pytest.mark.parametrize("design", ["sentences", "grounded"])
def test_the_product_is_the_only_checked_design(design: str) -> None:
    """``--design`` knows the product (``checked``) and the baselines; the removed design is an error, not a no-op."""
    import argparse

    from rag.errors import InputError
    from rag.eval.runner import run_eval
    from rag.settings import Settings

    with pytest.raises(InputError, match=f"unknown answer design '{design}'; known: checked"):
        run_eval(argparse.Namespace(design=f"checked,{design}"), Settings())


def test_tries_ablation_reassembles_with_fewer_quote_reads_and_leaves_the_product_alone(make_assistant: object) -> None:
    from fakes import ScriptedGenerator

    assistant = make_assistant(ScriptedGenerator("Peskow."))  # type: ignore[operator]
    varied, off = assistant._ablation("tries=1")
    assert varied.checker.tries == 1 and off == frozenset()
    assert assistant.answerer.checker.tries == 3, "the product's answerer is not changed"
    assert varied.checker.read is assistant.answerer.checker.read, "the reads are shared, so memoised"
    same, off = assistant._ablation("fact_kind")
    assert same is assistant.answerer and off == frozenset({"fact_kind"})


def test_a_question_refused_below_the_floor_keeps_its_refusal_in_every_ablation(make_assistant: object) -> None:
    from fakes import ScriptedGenerator

    gen = ScriptedGenerator("Peskow.")
    assistant = make_assistant(gen, refuse_below=0.99)  # type: ignore[operator]
    final, _, ablated = assistant.ask_ablated("Who won the 2014 football World Cup?", (), ["fact_kind", "tries=1"])
    assert final.refused and not final.draft and not gen.calls
    assert ablated == {"fact_kind": final, "tries=1": final}
