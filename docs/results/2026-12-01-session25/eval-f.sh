cd /work/wt-a
export PYTHONPATH=/work/wt-a
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --ablate passage_reads --no-agreement --report /tmp/s25/eval-f-seeds-gnad > /tmp/s25/eval-f-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked --ablate passage_reads --no-agreement --report /tmp/s25/eval-f-xquad > /tmp/s25/eval-f-xquad.log 2>&1
