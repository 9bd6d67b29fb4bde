cd /work/wt-a
export PYTHONPATH=/work/wt-a RAG_SENTENCE_VECTORS=in-passage
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --no-agreement --report /tmp/s24/eval-e-seeds-gnad > /tmp/s24/eval-e-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked --no-agreement --report /tmp/s24/eval-e-xquad > /tmp/s24/eval-e-xquad.log 2>&1
