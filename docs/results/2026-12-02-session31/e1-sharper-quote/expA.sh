#!/usr/bin/env bash
# E1: a rejected pick gives way to the passage's sentence that itself names the claim's new names/numbers.
set -u
cd /work/wt-a
export PYTHONPATH=/work/wt-a
/work/main/.venv/bin/rag eval --dataset seeds-tune,gnad --design checked --no-agreement --report /tmp/s31/expA-sg > /tmp/s31/expA-sg.log 2>&1
/work/main/.venv/bin/rag eval --dataset xquad --design checked --no-agreement --report /tmp/s31/expA-x > /tmp/s31/expA-x.log 2>&1
