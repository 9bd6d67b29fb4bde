#!/usr/bin/env bash
# Session 30's table, one job after the other (the gate sets' checked rows come from .ci/run's report):
# the tuning half checked and plain, XQuAD's answer sample checked and plain, the plain baseline on the gate sets.
set -u
cd /work/main
.venv/bin/rag eval --dataset seeds-tune --design checked,plain --no-agreement --report /tmp/s30/evalA > /tmp/s30/evalA.log 2>&1
.venv/bin/rag eval --dataset xquad --design checked,plain --no-agreement --report /tmp/s30/evalC > /tmp/s30/evalC.log 2>&1
.venv/bin/rag eval --dataset seeds-gate,gnad --design plain --no-agreement --report /tmp/s30/evalB > /tmp/s30/evalB.log 2>&1
