#!/usr/bin/env bash
# The whole test suite: lint, types, fast tests on fakes, real-model tests, and the gated evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-ask
# The browser test drives Debian's Chromium (no browser download works offline).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser tests will be skipped" >&2
fi
export GRADIO_ANALYTICS_ENABLED=False
# shellcheck disable=SC1091
. .venv/bin/activate
# Which CPU the figures and failures below came from (the int8 embedder and llama.cpp use its features).
echo "cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) cores," \
  "$(grep -m1 -ow 'avx512_vnni\|avx_vnni\|avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
out=${RAG_TEST_OUTPUT:-test-output}
mkdir -p "$out"
ruff check rag embeddings ui tests
mypy rag embeddings ui
export RAG_TEST_OUTPUT="$out"
python -m pytest -q tests -m "not real"
python -m pytest -q tests -m real
# Answer gates: the seeds gate half and the GNAD dev set (its index: the question articles plus others, 300 in all).
rag eval --dataset seeds-gate,gnad --gates --no-agreement --report "$out/eval-answers"
rag eval --dataset xquad --retrieval-only --gates --report "$out/eval-xquad"
# A small speed benchmark, with a 2,000-article synthetic archive (issue 22): figures and bench.json for the
# record, never a failure on timings.
rag bench --sizes 2000 --sample 16 --queries 40 --runs 3 --archive 2000 --report "$out/bench"
