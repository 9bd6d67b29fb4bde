#!/usr/bin/env bash
set -u
cd /work/wt-a
export PYTHONPATH=/work/wt-a
for d in gnad xquad seeds-tune; do
  /work/main/.venv/bin/python -m rag.cli eval --dataset $d --design checked --no-agreement --ablate dates_in_quote --report /tmp/s34/d-$d > /tmp/s34/d-$d.log 2>&1
done
