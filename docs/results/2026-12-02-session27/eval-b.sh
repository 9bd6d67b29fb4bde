cd /work/wt-a
export PYTHONPATH=/work/wt-a
PY=/work/main/.venv/bin/python
$PY -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --ablate names_in_quote,tries=4 --no-agreement --report /tmp/s27/eval-b-seeds-gnad > /tmp/s27/eval-b-seeds-gnad.log 2>&1
$PY -m rag.cli eval --dataset xquad --design checked --ablate names_in_quote,tries=4 --no-agreement --report /tmp/s27/eval-b-xquad > /tmp/s27/eval-b-xquad.log 2>&1
