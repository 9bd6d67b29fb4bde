cd /work/wt-a
export PYTHONPATH=/work/wt-a
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --ablate nouns_in_quote --no-agreement --report /tmp/s26/eval-b-seeds-gnad > /tmp/s26/eval-b-seeds-gnad.log 2>&1
