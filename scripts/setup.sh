#!/usr/bin/env bash
# From a fresh clone to a cited answer: environment, package, models, index, headline question.
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first, pinned: the CPU build; an unpinned torch would pull gigabytes of CUDA.
python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
  || pip install torch==2.13.0
# llama-cpp-python compiles once (about 20 minutes on 2 cores); pip keeps the built wheel in its cache.
# Its `server` extra (in dev) only adds python packages for the LLM-server test; it does not rebuild it.
if ! pip install -q -e ".[ui,serve,dev,postgres]"; then
  echo "error: installing the package failed (see pip's output above)" >&2
  exit 1
fi
# A wheel from pip's cache may have been compiled (-march=native) on another CPU: build one for this CPU,
# kept in a folder named by its version and instruction sets, and install it instead.
if ! python -m rag.cpu_features; then
  wheels=$(python -m rag.cpu_features --wheels)
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python for this CPU (about 20 minutes on 2 cores)" >&2
    pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python -w "$wheels" \
      "$(python -m rag.cpu_features --requirement)"
  fi
  pip install -q --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
  python -m rag.cpu_features
fi
rag models fetch
rag ingest --reembed seeds
if [ "${1:-}" != "--no-ask" ]; then
  rag ask "What did Putin promise Lukashenko?"
fi
