#!/bin/bash
R=/tmp/s23
rm -rf /root/.cache/rag/seeds-index-*
cd /work/wt-a && git checkout -q --detach 'd35fce94af70c5fd48811b56de49468064acadac'
export PYTHONPATH=/work/wt-a
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate --design checked,plain --ablate --no-agreement --report $R/eval-a2-seeds > $R/eval-a2-seeds.log 2>&1
cd /work/wt-b && git stash -q && git checkout -q --detach 'd35fce94af70c5fd48811b56de49468064acadac' && git stash pop -q
export PYTHONPATH=/work/wt-b RAG_EXP_SHARE=0.5
/work/main/.venv/bin/python -m rag.cli eval --dataset seeds-tune,seeds-gate,gnad --design checked --no-agreement --report $R/eval-b-seeds-gnad > $R/eval-b-seeds-gnad.log 2>&1
/work/main/.venv/bin/python -m rag.cli eval --dataset xquad --design checked --no-agreement --report $R/eval-b-xquad > $R/eval-b-xquad.log 2>&1
echo done > $R/eval-b.done
