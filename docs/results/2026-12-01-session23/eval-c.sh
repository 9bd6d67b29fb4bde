#!/bin/bash
cd /work/wt-c
export PYTHONPATH=/work/wt-c
R=/tmp/s23
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-gate,gnad,seeds-tune --design checked --no-agreement --report $R/eval-c-seeds-gnad > $R/eval-c-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked --no-agreement --report $R/eval-c-xquad > $R/eval-c-xquad.log 2>&1
echo done > $R/eval-c.done
