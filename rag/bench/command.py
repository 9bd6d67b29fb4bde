"""``rag bench``: builds the real parts from settings, runs the plan, prints and writes the report."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from embeddings.embedder import Embedder
from rag.bench.archive import article_counts
from rag.bench.report import render, write
from rag.bench.runner import Parts, Plan, machine_info, run
from rag.errors import InputError
from rag.generate import Generator
from rag.pipeline import Assistant
from rag.settings import Settings
from rag.store import Store


def _sizes(raw: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in raw.split(",") if s.strip())
    except ValueError:
        raise InputError(f"--sizes wants comma-separated integers, not {raw!r}") from None
    if not sizes or min(sizes) < 10:
        raise InputError("--sizes: every size must be at least 10 passages")
    return sizes


def backends(settings: Settings, raw: str | None) -> tuple[str, ...]:
    """``torch`` (the baseline) first, then the configured backend or the ones asked for."""
    asked = [b.strip() for b in raw.split(",")] if raw else [str(getattr(settings, "embed_backend", "torch"))]
    return tuple(dict.fromkeys(["torch", *[b for b in asked if b]]))


def with_backend(settings: Settings, backend: str) -> Settings:
    if any(f.name == "embed_backend" for f in dataclasses.fields(settings)):
        return dataclasses.replace(settings, embed_backend=backend)  # type: ignore[call-arg]
    if backend != "torch":
        raise InputError(f"embedder backend {backend!r} is not available (no embed_backend setting)")
    return settings


def real_parts(settings: Settings) -> Parts:
    from rag.eval.xquad import load_xquad, xquad_index_dir
    from rag.factory import build_assistant, build_embedder, build_generator
    from rag.models import resolve_llm

    seeds_store = Store(settings.index_path)
    snapshots = [seeds_store.load()]
    seeds_id = snapshots[0].manifest.embedder
    xquad_store = Store(xquad_index_dir(settings, seeds_id))
    if xquad_store.exists():
        snapshots.append(xquad_store.load())
    _, questions = load_xquad()
    queries = [q[key] for q in questions for key in ("question_en", "question_de")]

    def make_assistant(embedder: Embedder, generator: Generator) -> Assistant:
        return build_assistant(settings, embedder=embedder, generator=generator)

    return Parts(
        make_embedder=lambda b: build_embedder(with_backend(settings, b)),
        make_generator=lambda: build_generator(settings),
        make_assistant=make_assistant,
        seeds_dir=Path(__file__).resolve().parents[2] / "seeds",
        pool_snapshots=snapshots, queries=queries, model_bytes=resolve_llm(settings).stat().st_size,
        chunk_chars=settings.chunk_chars, machine=machine_info(settings.threads),
    )


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    try:
        archive = article_counts(args.archive)
    except ValueError as exc:
        raise InputError(f"--archive {exc}") from None
    plan = Plan(sizes=_sizes(args.sizes), sample=args.sample, queries=args.queries, runs=args.runs,
                skip_llm=args.skip_llm, backends=backends(settings, args.backends), archive=archive,
                archive_index=args.archive_index)
    report: dict[str, Any] = run(plan, real_parts(settings))
    path = write(report, args.report)
    print(json.dumps(json.loads(path.read_text()), indent=2) if args.json else render(report))
    if not args.json:
        print(f"\nwrote {path} and {path.with_suffix('.md')}")
    return 0
