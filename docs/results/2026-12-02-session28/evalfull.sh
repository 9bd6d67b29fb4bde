#!/usr/bin/env bash
cd /work/wt-a
export PYTHONPATH=/work/wt-a
date
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked,plain --no-agreement --report /tmp/s28/eval-seeds-gnad > /tmp/s28/eval-seeds-gnad.log 2>&1
echo "seeds-gnad rc $?"; date
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked,plain --no-agreement --report /tmp/s28/eval-xquad > /tmp/s28/eval-xquad.log 2>&1
echo "xquad rc $?"; date
