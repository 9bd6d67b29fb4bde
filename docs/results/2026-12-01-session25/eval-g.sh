cd /work/wt-a
export PYTHONPATH=/work/wt-a
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --ablate focused_read --no-agreement --report /tmp/s25/eval-g-seeds-gnad > /tmp/s25/eval-g-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked --ablate focused_read --no-agreement --report /tmp/s25/eval-g-xquad > /tmp/s25/eval-g-xquad.log 2>&1
