#!/usr/bin/env bash
# The whole test suite: lint, types, fast tests on fakes, real-model tests, and the gated evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-ask
# shellcheck disable=SC1091
. .venv/bin/activate
out=${RAG_TEST_OUTPUT:-test-output}
mkdir -p "$out"
ruff check rag embeddings ui tests
mypy rag embeddings ui
python -m pytest -q tests -m "not real"
python -m pytest -q tests -m real
rag eval --dataset seeds --gates --report "$out/eval-seeds"
rag eval --dataset xquad --retrieval-only --gates --report "$out/eval-xquad"
