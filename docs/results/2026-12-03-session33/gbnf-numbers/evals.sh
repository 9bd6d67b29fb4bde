#!/usr/bin/env bash
set -u
cd /work/wt-a
export PYTHONPATH=/work/wt-a RAG_DRAFT_GRAMMAR=numbers
for d in seeds-tune gnad xquad; do
  /work/main/.venv/bin/python -m rag.cli eval --dataset $d --design checked --no-agreement --report /tmp/s33/g-$d > /tmp/s33/g-$d.log 2>&1
done
