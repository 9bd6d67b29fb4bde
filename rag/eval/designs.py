"""Answer designs scored side by side with the product by the same code (``rag eval --design``).

``plain`` is the peer baseline of ``../shared/baselines/plain_rag.py``: LangChain's default
"stuff" prompt over the top-4 retrieved passages (whole passages, deduplicated), the same
retriever and chat model, greedy decoding, no checks and no citations; a reply saying it does
not know counts as a refusal. It is re-stated here so that CI, which may lack ``shared/``, can
score it; a test keeps the prompt equal to the shared file's when that file is present.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from rag.generate import Generator
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.types import Answer, Timings

PLAIN_PROMPT = ("Use the following pieces of context to answer the question at the end. If you don't know the "
                "answer, just say that you don't know, don't try to make up an answer.\n\n{context}\n\n"
                "Question: {question}\nHelpful Answer:")


def plain_answer(question: str, retriever: Retriever, generator: Generator) -> Answer:
    """The plain baseline's answer to one question, timed as the product's draft is."""
    started = time.perf_counter()
    passages: list[str] = []
    for e in retriever.retrieve(question, 4, 6).evidence:
        if e.passage.text not in passages:
            passages.append(e.passage.text)
    prompt = PLAIN_PROMPT.format(context="\n\n".join(passages[:4]), question=question)
    text = "".join(generator.stream([{"role": "user", "content": prompt}], max_tokens=200, temperature=0.0)).strip()
    refused = "don't know" in text.lower() or "do not know" in text.lower()
    return Answer(question, text, refused, timings=Timings(total_s=time.perf_counter() - started))


DESIGNS: dict[str, Callable[[str, Retriever, Generator], Answer]] = {"plain": plain_answer}


def run_design(name: str, settings: Settings, embedder: Any, generator: Generator, judges: dict[str, Any],
               items: list[Any]) -> list[Any]:
    """Every item answered by design ``name`` and scored as the product's answers are."""
    from rag.errors import InputError
    from rag.eval import metrics
    from rag.eval.runner import Row, corpus_numbers, gold_passages, score_row
    from rag.factory import build_retriever

    if name not in DESIGNS:
        raise InputError(f"unknown answer design {name!r}; known: checked, {', '.join(DESIGNS)}")
    design = DESIGNS[name]
    retriever = build_retriever(settings, embedder)
    numbers_in_corpus = corpus_numbers(retriever.snapshot.documents)
    rows = []
    for i, item in enumerate(items):
        row = Row(item)
        gold = gold_passages(item, retriever.snapshot)
        if item.answerable and gold:
            hits, _, _ = retriever.search(item.question, top_k=50)
            row.rank = metrics.first_rank([h.passage.passage_id for h in hits], gold)
        ans = design(item.question, retriever, generator)
        score_row(row, ans, ans, numbers_in_corpus, judges)
        print(f"[{name} {i + 1}/{len(items)}] {item.id} {'refused' if ans.refused else 'answered'} "
              f"{'' if row.correct is None else row.correct}", file=sys.stderr, flush=True)
        rows.append(row)
    return rows
