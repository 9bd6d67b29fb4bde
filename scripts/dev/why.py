"""Why the grounded design kept or refused each answer sentence, for chosen questions (failure analysis).

usage: python scripts/dev/why.py DATASET [ID_OR_SUBSTRING ...]   (DATASET: seeds-tune, gnad, xquad)
Writes one JSON line per question to stdout: the draft, each sentence's grounding or reason.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace

from rag.eval.runner import qa_dataset
from rag.factory import build_assistant, build_embedder, build_generator
from rag.language import detect_language
from rag.answer_text import split_answer
from rag.settings import Settings


def items_of(name: str, settings: Settings, embedder):
    if name == "xquad":
        from rag.eval.runner import XQUAD_SAMPLE, xquad_sample
        from rag.eval.xquad import build_index, load_xquad
        passages, questions = load_xquad()
        store = build_index(settings, embedder, passages)
        sample = [questions[i] for i in xquad_sample(min(XQUAD_SAMPLE, len(questions)), len(questions))]
        return [(q["id"], q["question_en"], q["answers"]) for q in sample], replace(settings, index_dir=store.root)
    key, items, s = qa_dataset(name, settings, embedder)
    return [(i.id, i.question, getattr(i, "answers", None) or getattr(i, "facts", None)) for i in items], s


def main() -> None:
    name, wanted = sys.argv[1], sys.argv[2:]
    settings = Settings.from_env()
    embedder = build_embedder(settings)
    items, s = items_of(name, settings, embedder)
    assistant = build_assistant(s, embedder=embedder, generator=build_generator(settings))
    ans = assistant.answerer
    for qid, question, gold in items:
        if wanted and not any(w == qid or w.lower() in question.lower() for w in wanted):
            continue
        lang = detect_language(question)
        evidence, best = ans.evidence(question, question)
        raw = "".join(ans.draft(question, evidence, lang)).strip()
        ctx = ans.checker.context(question, lang, evidence)
        groundings, answers = ans.checker.check(split_answer(raw), evidence, ctx)
        print(json.dumps({"id": qid, "question": question, "gold": gold, "draft": raw, "answers": answers,
                          "sentences": [{"text": g.text, "reason": g.reason,
                                         "quote": g.quote.text if g.quote else None,
                                         "facts": sorted(g.new_facts)} for g in groundings]},
                         ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
