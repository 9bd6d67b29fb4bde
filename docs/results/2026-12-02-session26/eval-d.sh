while pgrep -f "eval-c" > /dev/null; do sleep 10; done
cd /work/main && .venv/bin/python -m pytest -q -m "not real" -x > /tmp/s26/fast-tier.log 2>&1
cd /work/wt-a
export PYTHONPATH=/work/wt-a
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --ablate capitals_in_quote --no-agreement --report /tmp/s26/eval-d-seeds-gnad > /tmp/s26/eval-d-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked --ablate capitals_in_quote --no-agreement --report /tmp/s26/eval-d-xquad > /tmp/s26/eval-d-xquad.log 2>&1
