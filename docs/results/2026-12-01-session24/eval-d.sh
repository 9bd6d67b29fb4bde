cd /work/wt-a
export PYTHONPATH=/work/wt-a
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --no-agreement --report /tmp/s24/eval-d-seeds-gnad > /tmp/s24/eval-d-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked --no-agreement --report /tmp/s24/eval-d-xquad > /tmp/s24/eval-d-xquad.log 2>&1
