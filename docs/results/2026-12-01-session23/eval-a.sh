#!/bin/bash
cd /work/wt-a
export PYTHONPATH=/work/wt-a
R=/tmp/s23
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked,plain --ablate --no-agreement --report $R/eval-a-seeds-gnad > $R/eval-a-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked,plain --ablate --no-agreement --report $R/eval-a-xquad > $R/eval-a-xquad.log 2>&1
echo done > $R/eval-a.done
