cd /work/wt-a
export PYTHONPATH=/work/wt-a
PY=/work/main/.venv/bin/python
$PY -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --ablate tries=1,tries=2,tries=3 --no-agreement --report /tmp/s27/eval-a-seeds-gnad > /tmp/s27/eval-a-seeds-gnad.log 2>&1
$PY -m rag.cli eval --dataset xquad --design checked --ablate tries=1,tries=2,tries=3 --no-agreement --report /tmp/s27/eval-a-xquad > /tmp/s27/eval-a-xquad.log 2>&1
