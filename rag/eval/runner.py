"""``rag eval``: run the real pipeline over a QA set and write report.json / report.md."""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rag.backend import IndexSnapshot
from rag.errors import InputError, RagError, printable
from rag.eval import index_slug, metrics
from rag.eval.judge import Judge, LlmSupportJudge, SupportJudge, agreement, calibrate, load_pairs
from rag.pipeline import Assistant, standalone_query
from rag.settings import Settings
from rag.store import Store
from rag.textnorm import numbers
from rag.types import Answer, Document, Turn

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
"""The bundled articles the seeds QA set is asked over."""
XQUAD_SAMPLE = 100
XQUAD_SEED = 13


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    kind: str = "fact"
    lang: str = "en"
    answerable: bool = True
    facts: tuple[tuple[str, ...], ...] = ()
    support: tuple[tuple[str, str], ...] = ()
    history: tuple[Turn, ...] = ()
    gold_docs: tuple[str, ...] = ()
    split: str = ""


def load_qa(path: Any = None) -> list[QAItem]:
    """A QA set from a JSONL path (or a package resource); the bundled seeds set by default."""
    text = path.read_text() if path else resources.files("rag.data").joinpath("seeds_qa.jsonl").read_text()
    items = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            items.append(QAItem(
                id=r["id"], question=r["question"], kind=r.get("kind", "fact"), lang=r.get("lang", "en"),
                answerable=bool(r.get("answerable", True)),
                facts=tuple(tuple(f) for f in r.get("facts", [])),
                support=tuple((s["doc_id"], s["quote"]) for s in r.get("support", [])),
                history=tuple(Turn(h["question"], h.get("answer", "")) for h in r.get("history", [])),
                split=r.get("split", ""),
            ))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"QA set line {line_no}: {exc}") from None
    return items


SEEDS_SPLITS = {"seeds": None, "seeds-tune": "tune", "seeds-gate": "gate"}


def seeds_index(settings: Settings, embedder: Any, folder: Path = SEEDS_DIR) -> Store:
    """The bundled seeds in an index of their own per embedder, kept in step with ``seeds/``.

    Measured over the user's default index, the seeds figures depended on whatever else it held:
    with seed articles ingested twice (once from a git worktree) answers cited the same quote
    from both, and seeds-gate citation precision read 0.805 where the five seeds alone give 0.655.
    The index holds exactly the seeds of ``folder`` by article id, wherever the checkout is: added
    by path, the seeds of a second checkout (a CI clone, a git worktree) sharing the cache folder
    joined the first's, and session 23 found each seed three times in it.
    """
    from rag.factory import build_embed_cache
    from rag.ingest import Ingestor
    from rag.parse import iter_files, parse_file

    if not folder.is_dir():
        raise InputError(f"the seeds folder {folder} is missing")
    slug = index_slug(embedder.model_id)
    store = Store(settings.home / f"seeds-index-{slug}")
    docs = [parse_file(f) for f in iter_files([folder])]
    Ingestor(store, embedder, settings.chunk_chars, cache=build_embed_cache(settings)).ingest_documents(docs)
    return store


def qa_dataset(name: str, settings: Settings, embedder: Any) -> tuple[str, list[QAItem], Settings]:
    """A QA set by name, and the settings whose index it is asked over.

    ``seeds-tune`` is where failures are analysed; ``seeds-gate`` is only measured (split once by
    a fixed seed, stratified by kind). ``gnad`` is asked over its own index of the archive.
    """
    from dataclasses import replace

    if name in SEEDS_SPLITS:
        split = SEEDS_SPLITS[name]
        items = [i for i in load_qa() if split is None or i.split == split]
        return name, items, replace(settings, index_dir=seeds_index(settings, embedder).root)
    if name == "gnad":
        from rag.eval.gnad import build_index

        items = load_qa(resources.files("rag.data").joinpath("gnad_qa.jsonl"))
        store = build_index(settings, embedder, {d for i in items for d, _ in i.support})
        return name, items, replace(settings, index_dir=store.root)
    return Path(name).stem, load_qa(Path(name)), settings


def gold_passages(item: QAItem, snap: IndexSnapshot) -> set[int]:
    """Passages that contain (or overlap) a gold support quote."""
    out = set()
    for doc_id, quote in item.support:
        doc = snap.documents.get(doc_id)
        if doc is None:
            continue
        start = doc.text.find(quote)
        if start < 0:
            continue
        end = start + len(quote)
        out |= {p.passage_id for p in snap.passages_of(doc_id) if p.start < end and start < p.end}
    return out


@dataclass
class Row:
    item: QAItem
    answer: Answer | None = None
    rank: int | None = None
    correct: bool | None = None
    completeness: float | None = None
    refusal_ok: bool | None = None
    citation_verdicts: list[dict[str, Any]] = field(default_factory=list)
    sentence_support: list[dict[str, bool]] = field(default_factory=list)
    unverified: Answer | None = None
    correct_off: bool | None = None
    verdicts_off: list[dict[str, Any]] = field(default_factory=list)
    support_off: list[dict[str, bool]] = field(default_factory=list)
    ablated: dict[str, tuple[Answer, bool | None]] = field(default_factory=dict)


def corpus_numbers(documents: Mapping[str, Document]) -> set[str]:
    out: set[str] = set()
    for d in documents.values():
        out |= numbers(d.text)
    return out


def judge_answer(answer: Answer | None, question: str,
                 judges: dict[str, Judge]) -> tuple[list[dict[str, Any]], list[dict[str, bool]]]:
    """Per citation and per sentence, each judge's verdict; the first judge is the headline one."""
    verdicts: list[dict[str, Any]] = []
    support: list[dict[str, bool]] = []
    if answer is None or answer.refused or not judges:
        return verdicts, support
    by_n = {c.n: c for c in answer.citations}
    for s in answer.sentences:
        cited = [by_n[n] for n in s.citations if n in by_n]
        for c in cited:
            verdict: dict[str, Any] = {"sentence": s.text, "n": c.n, "doc_id": c.doc_id}
            for name, judge in judges.items():
                verdict[name] = judge.supports(s.text, c.passage, question)
            verdict["supports"] = verdict[next(iter(judges))]
            verdicts.append(verdict)
        joint = " ".join(c.passage for c in cited)
        support.append({name: bool(cited) and judge.supports(s.text, joint, question)
                        for name, judge in judges.items()})
    return verdicts, support


def citation_totals(verdicts: list[dict[str, Any]], support: list[dict[str, bool]],
                    judge_names: list[str]) -> dict[str, float]:
    """ALCE citation precision and recall per judge; the first judge's figures carry no suffix."""
    out: dict[str, float] = {}
    for i, name in enumerate(judge_names):
        suffix = "" if i == 0 else f"_{name}"
        c = [v[name] for v in verdicts]
        s = [v[name] for v in support]
        out[f"citation_precision{suffix}"] = sum(c) / len(c) if c else 0.0
        out[f"citation_recall{suffix}"] = sum(s) / len(s) if s else 0.0
    out["citations"] = len(verdicts)
    out["answer_sentences"] = len(support)
    return out


def run_seeds(assistant: Assistant | None, retriever: Any, judges: dict[str, Judge], items: list[QAItem],
              retrieval_only: bool, progress: bool = True, ablate: Sequence[str] = ()) -> list[Row]:
    snap: IndexSnapshot = retriever.snapshot
    numbers_in_corpus = corpus_numbers(snap.documents)
    rows = []
    for i, item in enumerate(items):
        row = Row(item)
        query = standalone_query(item.question, item.history)
        gold = gold_passages(item, snap)
        if item.answerable and gold:
            hits, _, _ = retriever.search(query, top_k=50)
            row.rank = metrics.first_rank([h.passage.passage_id for h in hits], gold)
        if not retrieval_only and assistant is not None:
            ans, off, ablated = assistant.ask_ablated(item.question, item.history, ablate)
            row.ablated = {name: (a, item.answerable and metrics.is_correct(
                a.answer, a.refused, item.facts, numbers_in_corpus, item.question, item.kind != "synthesis"))
                for name, a in ablated.items()}
            if item.answerable and gold and ans.standalone_question and ans.standalone_question != query:
                hits, _, _ = retriever.search(ans.standalone_question, top_k=50)
                row.rank = metrics.first_rank([h.passage.passage_id for h in hits], gold)
            score_row(row, ans, off, numbers_in_corpus, judges)
        if progress:
            status = "" if row.answer is None else ("refused" if row.answer.refused else "answered")
            print(f"[{i + 1}/{len(items)}] {item.id} {status} {'' if row.correct is None else row.correct}",
                  file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def score_row(row: Row, ans: Answer, off: Answer, numbers_in_corpus: set[str], judges: dict[str, Judge]) -> None:
    """Correctness, refusal and judged citations of one item's answer, checked (``ans``) and not (``off``)."""
    item = row.item
    row.answer, row.unverified = ans, off
    row.refusal_ok = ans.refused != item.answerable
    if item.answerable:
        need_all = item.kind != "synthesis"
        row.correct = metrics.is_correct(ans.answer, ans.refused, item.facts, numbers_in_corpus,
                                         item.question, need_all)
        row.correct_off = metrics.is_correct(off.answer, off.refused, item.facts, numbers_in_corpus,
                                             item.question, need_all)
        row.completeness = metrics.facts_covered(ans.answer, item.facts) if not ans.refused else 0.0
    row.citation_verdicts, row.sentence_support = judge_answer(ans, item.question, judges)
    row.verdicts_off, row.support_off = judge_answer(off, item.question, judges)


def summarize_seeds(rows: list[Row], retrieval_only: bool) -> dict[str, Any]:
    answerable = [r for r in rows if r.item.answerable and r.item.support]
    totals: dict[str, Any] = {"items": len(rows), **metrics.retrieval_metrics([r.rank for r in answerable])}
    if retrieval_only:
        return totals
    synth = [r for r in rows if r.item.kind == "synthesis" and r.completeness is not None]
    answers = [r.answer for r in rows if r.answer is not None]
    judge_names: list[str] = next((list(r.sentence_support[0]) for r in rows if r.sentence_support), [])
    on = _answer_figures(rows, True, judge_names)
    totals.update({
        "answer_correctness": on["answer_correctness"],
        "completeness": sum(r.completeness or 0.0 for r in synth) / (len(synth) or 1),
        **on,
        "first_token_s": metrics.percentiles(a.timings.first_token_s for a in answers),
        "total_s": metrics.percentiles(a.timings.total_s for a in answers),
        "checked_s": metrics.percentiles(a.timings.checked_s for a in answers),
        "sourced_s": metrics.percentiles(a.timings.sourced_s for a in answers),
        "tokens_per_s": metrics.percentiles(a.timings.tokens_per_s for a in answers),
    })
    totals["verification"] = verification_table(on=on, off=_answer_figures(rows, False, judge_names), answers=answers)
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({r.item.kind for r in rows}):
        group = [r for r in rows if r.item.kind == kind]
        by_kind[kind] = {
            "items": len(group),
            "refusal_accuracy": sum(bool(r.refusal_ok) for r in group) / len(group),
            "answer_correctness": (sum(bool(r.correct) for r in group if r.item.answerable)
                                   / (sum(r.item.answerable for r in group) or 1)),
        }
    totals["by_kind"] = by_kind
    names = sorted({n for r in rows for n in r.ablated})
    if names:
        totals["ablation"] = {name: _ablated_figures(rows, name) for name in names}
    return totals


def _ablated_figures(rows: list[Row], name: str) -> dict[str, float | None]:
    """Correctness, answered-wrong, unanswerable refusals and German words left with check ``name`` off (same drafts).

    The last is what a ``present`` check (``calendar_words``, ``place_names``) is for: it changes no
    verdict, only how a kept sentence reads.
    """
    pairs = [(r, r.ablated[name]) for r in rows if name in r.ablated]
    answerable = [ok for r, (_, ok) in pairs if r.item.answerable]
    unanswerable = [a for r, (a, _) in pairs if not r.item.answerable]
    return {"answer_correctness": sum(bool(ok) for ok in answerable) / (len(answerable) or 1),
            **metrics.risk_coverage([(not a.refused, not r.item.answerable or not ok) for r, (a, ok) in pairs]),
            "unanswerable_refused": sum(a.refused for a in unanswerable) / (len(unanswerable) or 1),
            "untranslated": metrics.untranslated((r.item.lang, a.answer, a.refused) for r, (a, _) in pairs)}


def _answer_figures(rows: list[Row], verified: bool, judge_names: list[str]) -> dict[str, Any]:
    """Correctness, refusal accuracy and citation figures of the verified or the unverified answers."""
    ans_rows = [r for r in rows if r.item.answerable]
    answers = [(r, r.answer if verified else r.unverified) for r in rows]
    unanswerable = [(r, a) for r, a in answers if not r.item.answerable]
    outcomes = [(a is not None and not a.refused,
                 not r.item.answerable or not (r.correct if verified else r.correct_off)) for r, a in answers]
    return {
        "answer_correctness": sum(bool(r.correct if verified else r.correct_off) for r in ans_rows)
        / (len(ans_rows) or 1),
        "refusal_accuracy": sum(a is not None and a.refused != r.item.answerable for r, a in answers)
        / (len(rows) or 1),
        **metrics.risk_coverage(outcomes),
        "unanswerable_refused": sum(a is not None and a.refused for _, a in unanswerable) / (len(unanswerable) or 1),
        "untranslated": metrics.untranslated((r.item.lang, a.answer, a.refused) for r, a in answers if a is not None),
        **citation_totals([v for r in rows for v in (r.citation_verdicts if verified else r.verdicts_off)],
                          [v for r in rows for v in (r.sentence_support if verified else r.support_off)],
                          judge_names),
    }


def verification_table(on: dict[str, float], off: dict[str, float], answers: list[Answer]) -> dict[str, Any]:
    """Figures with verification off (the model's own citations) and on, plus what each check cost."""
    checked = [a for a in answers if a.timings.verify_s is not None]
    keys = sorted({k for a in checked for k in a.timings.checks})
    calls = sum(a.timings.checks.get("llm_judge_calls", 0.0) for a in checked)
    judge_s = sum(a.timings.checks.get("llm_judge_s", 0.0) for a in checked)
    return {
        "off": off,
        "on": on,
        "verify_s": metrics.percentiles(a.timings.verify_s for a in checked),
        "check_cost_mean_s": {k: sum(a.timings.checks.get(k, 0.0) for a in checked) / (len(checked) or 1)
                              for k in keys},
        "llm_judge_s_per_call": judge_s / calls if calls else None,
    }


def row_json(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.item.id, "kind": row.item.kind, "question": row.item.question,
                           "answerable": row.item.answerable, "gold_rank": row.rank}
    if row.item.history:
        out["history"] = [t.question for t in row.item.history]
    if row.answer is not None:
        out.update({"answer": row.answer.answer, "refused": row.answer.refused, "draft": row.answer.draft,
                    "dropped": list(row.answer.dropped),
                    "correct": row.correct, "completeness": row.completeness, "refusal_ok": row.refusal_ok,
                    "citations": [{"n": c.n, "doc_id": c.doc_id, "quote": c.quote} for c in row.answer.citations],
                    "citation_verdicts": row.citation_verdicts, "sentence_support": row.sentence_support,
                    "timings": row.answer.to_json()["timings"]})
    if row.unverified is not None:
        out["unverified"] = {"answer": row.unverified.answer, "refused": row.unverified.refused,
                             "correct": row.correct_off, "citation_verdicts": row.verdicts_off,
                             "sentence_support": row.support_off}
    if row.ablated:
        out["ablated"] = {name: {"answer": a.answer, "refused": a.refused, "correct": ok,
                                 "reads": a.timings.checks.get("focused_read_calls", 0.0)}
                          for name, (a, ok) in row.ablated.items()}
    return out


def write_reports(report: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "report.json.tmp"
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    tmp.replace(out_dir / "report.json")
    (out_dir / "report.md").write_text(render_markdown(report))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items() if x is not None)
    return str(v)


def _verdict(r: dict[str, Any]) -> str:
    if "contains_gold" in r:
        found = "gold answer contained" if r["contains_gold"] else "gold answer missing"
        return f"{found}; token F1 {r['token_f1']:.2f}"
    if not r["answerable"]:
        return "correct refusal" if r.get("refused") else "answered an unanswerable question"
    return ("refused" if r.get("refused") else ("correct" if r.get("correct") else "wrong")) + \
        f"; gold rank {r['gold_rank']}"


def _question_lines(r: dict[str, Any]) -> list[str]:
    """One question: the answer, its verdict, and each cited quote with the judges' verdicts."""
    lines = [f"**{r['id']}** ({r.get('kind', 'xquad')}) {r['question']}  ", f"answer: {r.get('answer', '')}  ",
             f"verdict: {_verdict(r)}"]
    quotes = {c["n"]: c for c in r.get("citations", [])}
    for v in r.get("citation_verdicts", []):
        c = quotes.get(v["n"], {"doc_id": v["doc_id"], "quote": ""})
        judged = ", ".join(f"{k} {'yes' if v[k] else 'no'}" for k in v
                           if k not in ("sentence", "n", "doc_id", "supports"))
        lines.append(f"- \"{v['sentence']}\" [{v['n']}] {c['doc_id']}: „{c['quote']}“ — supports: {judged}")
    off = r.get("unverified")
    if off and off.get("answer") != r.get("answer"):
        lines.append(f"- without verification: {off['answer']}")
    return lines + [""]


def _ablation_lines(totals: dict[str, Any]) -> list[str]:
    """``--ablate`` as a table: each check off in turn beside the product, the same drafts.

    The product's row is the checked assembly of "verification off vs on", which both the seeds
    and the XQuAD totals hold (XQuAD keeps its answer figures under ``answers``, not at the top).
    """
    ablation = totals.get("ablation")
    if not ablation:
        return []
    product = totals.get("verification", {}).get("on") or totals
    figures = [k for k in next(iter(ablation.values())) if k not in ("coverage", "risk")]
    lines = ["", "### Each check off in turn (the same drafts)", "",
             "| check off | " + " | ".join(figures) + " |", "|---" * (len(figures) + 1) + "|",
             "| none (the product) | " + " | ".join(_fmt(product.get(k, "")) for k in figures) + " |"]
    for name, v in ablation.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(v.get(k, "")) for k in figures) + " |")
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation report ({report['created']})", ""]
    for name, section in report["datasets"].items():
        lines += [f"## {name}", "", "| metric | value |", "|---|---|"]
        for k, v in section["totals"].items():
            if k not in ("by_kind", "verification", "ablation"):
                lines.append(f"| {k} | {_fmt(v)} |")
        lines += _ablation_lines(section["totals"])
        ver = section["totals"].get("verification")
        if ver:
            lines += ["", "### Verification off vs on (one generation, assembled both ways)", "",
                      "| figure | off | on |", "|---|---|---|"]
            for k in ver["on"]:
                if isinstance(ver["on"][k], (int, float)) and k in ver["off"]:
                    lines.append(f"| {k} | {_fmt(ver['off'][k])} | {_fmt(ver['on'][k])} |")
            lines += ["", f"verification time per answer: {_fmt(ver['verify_s'])}; mean cost per answer by check: "
                      f"{_fmt(ver['check_cost_mean_s'])}; LLM judge per call: {_fmt(ver['llm_judge_s_per_call'])} s"]
        if "by_kind" in section["totals"]:
            lines += ["", "| kind | items | correctness | refusal accuracy |", "|---|---|---|---|"]
            for kind, v in section["totals"]["by_kind"].items():
                lines.append(f"| {kind} | {v['items']} | {v['answer_correctness']:.3f} | {v['refusal_accuracy']:.3f} |")
        if section.get("rows") and "answer" in section["rows"][0]:
            lines += ["", "### Per question", ""]
            for r in section["rows"]:
                lines += _question_lines(r)
    lines += ["## Metric definitions", ""] + [f"- **{k}**: {v}" for k, v in metrics.DEFINITIONS.items()]
    if "judge" in report:
        lines += ["", "## Support judges (agreement with hand-labelled pairs)", ""]
        lines += [f"- **{name}**: {_fmt(v)}" for name, v in report["judge"].items()]
    if "gates" in report:
        lines += ["", "## Gates", "", "| metric | value | gate | ok |", "|---|---|---|---|"]
        for g in report["gates"]:
            bound = "<=" if g.get("direction") == "max" else ">="
            lines.append(f"| {g['dataset']}.{g['metric']} | {_fmt(g['value'])} | {bound} {g['gate']} | {g['ok']} |")
    return "\n".join(lines) + "\n"


def _ablations(args: argparse.Namespace, design: str, settings: Settings) -> list[str]:
    """The checks ``--ablate`` switches off one at a time (all, or those it names): only the product
    (``checked``) has checks."""
    from rag import checks
    from rag.errors import InputError

    spec = getattr(args, "ablate", None)
    if not spec or design != "checked":
        return []
    active = [c.name for c in checks.enabled(settings.checks)]
    if spec == "all":
        return active
    named = [n.strip() for n in str(spec).split(",") if n.strip()]
    unknown = [n for n in named if n not in active and not re.fullmatch(r"tries=[1-9]\d*", n)]
    if unknown:
        raise InputError(f"--ablate names {unknown[0]!r}, which is neither an active check nor tries=N; "
                         f"active: {', '.join(active)}")
    return named


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval import gates as gate_mod
    from rag.eval.designs import DESIGNS
    from rag.factory import build_assistant, build_embedder, build_retriever

    designs = [d.strip() for d in (getattr(args, "design", None) or "checked").split(",")]
    unknown = [d for d in designs if d not in {"checked", *DESIGNS}]
    if unknown:
        raise InputError(f"unknown answer design {unknown[0]!r}; known: checked (the product), {', '.join(DESIGNS)}")
    embedder = build_embedder(settings)
    report: dict[str, Any] = {"created": time.strftime("%Y-%m-%d %H:%M:%S"), "datasets": {}}
    judges: dict[str, Judge] = {}
    generator = None
    if not args.retrieval_only:
        from rag.factory import build_generator
        from rag.judge import LlmJudge

        pairs = load_pairs()
        generator = build_generator(settings)
        emb_judge = SupportJudge(embedder)
        llm_judge = LlmSupportJudge(LlmJudge(generator))
        if getattr(args, "agreement", True):
            report["judge"] = {"llm": agreement(llm_judge, pairs), "embedding": calibrate(emb_judge, pairs)}
        judges = {"llm": llm_judge, "embedding": emb_judge}
    datasets = [d.strip() for d in args.dataset.split(",")]
    for name in datasets:
        if name == "xquad":
            from rag.eval.xquad import run_xquad

            for design in designs:
                section = "xquad" if design == "checked" else f"xquad/{design}"
                report["datasets"][section] = run_xquad(settings, embedder, args.limit, generator, judges, design,
                                                        _ablations(args, design, settings))
            continue
        key, items, qa_settings = qa_dataset(name, settings, embedder)
        if args.limit:
            items = items[: args.limit]
        for design in designs if generator is not None else ["checked"]:
            if design == "checked":
                retriever = build_retriever(qa_settings, embedder)
                assistant = (None if generator is None
                             else build_assistant(qa_settings, embedder=embedder, generator=generator))
                if assistant is not None:
                    retriever = assistant.retriever
                rows = run_seeds(assistant, retriever, judges, items, args.retrieval_only,
                                 ablate=_ablations(args, design, qa_settings))
            else:
                from rag.eval.designs import run_design

                assert generator is not None
                rows = run_design(design, qa_settings, embedder, generator, judges, items)
            section = key if design == "checked" else f"{key}/{design}"
            report["datasets"][section] = {
                "totals": summarize_seeds(rows, args.retrieval_only), "rows": [row_json(r) for r in rows]}
    failed: list[dict[str, Any]] = []
    if args.gates:
        report["gates"] = gate_mod.check(report, answers_measured=not args.retrieval_only)
        failed = [g for g in report["gates"] if not g["ok"]]
    write_reports(report, args.report)
    print_table(report)
    if args.json:
        print(json.dumps({k: v["totals"] for k, v in report["datasets"].items()}, ensure_ascii=False, indent=2))
    print(f"reports: {args.report / 'report.json'}, {args.report / 'report.md'}", file=sys.stderr)
    if failed:
        for g in failed:
            value = "not measured" if g["value"] is None else f"{g['value']:.3f}"
            bound = ">" if g.get("direction") == "max" else "<"
            print(f"gate failed: {g['dataset']}.{g['metric']} = {value} {bound} {g['gate']}", file=sys.stderr)
        raise RagError(f"{len(failed)} evaluation gate(s) failed")
    return 0


def print_table(report: dict[str, Any]) -> None:
    out = sys.stderr
    for name, section in report["datasets"].items():
        print(f"\n{name}:", file=out)
        for r in section.get("rows", []):
            if "answer" in r:
                if "contains_gold" in r:
                    ok = r["contains_gold"]
                else:
                    ok = r.get("correct") if r["answerable"] else r.get("refused")
                mark = "ok " if ok else "BAD"
                print(f"  {mark} {printable(r['id']):<5} {printable(r['question'][:60]):<60} | "
                      f"{printable(r['answer'][:70])}", file=out)
        for k, v in section["totals"].items():
            if k != "by_kind":
                print(f"  {k}: {_fmt(v)}", file=out)


def xquad_sample(n: int, total: int) -> list[int]:
    rng = random.Random(XQUAD_SEED)
    return sorted(rng.sample(range(total), min(n, total)))
