"""The ``rag bench`` flags, apart from the bench itself so building the CLI parser stays cheap."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="10000,100000", help="synthetic corpus sizes in passages, comma-separated")
    parser.add_argument("--sample", type=int, default=200, help="synthetic passages embedded to time ingestion")
    parser.add_argument("--queries", type=int, default=100, help="XQuAD questions used as retrieval queries")
    parser.add_argument("--runs", type=int, default=3, help="answers to the headline question")
    parser.add_argument("--backends", help="embedder backends to compare, torch first (default: torch and "
                                           "RAG_EMBED_BACKEND)")
    parser.add_argument("--skip-llm", action="store_true", help="no LLM: no answers, no llama.cpp reference")
    parser.add_argument("--archive", default="0",
                        help="synthetic archive sizes in articles, comma-separated, each written and measured as "
                             "`python -m rag.bench.archive` does (0, the default: no archive section)")
    parser.add_argument("--archive-index", type=Path,
                        help="also measure this existing index (format 2) in the archive section, through a copy")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    parser.add_argument("--report", type=Path, default=Path("reports/bench"), help="folder for bench.json/.md")
