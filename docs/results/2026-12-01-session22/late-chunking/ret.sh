. /work/main/.venv/bin/activate
for w in main late; do
  cd /work/wt-$w && PYTHONPATH=/work/wt-$w rag eval --dataset seeds,gnad,xquad --retrieval-only --report /tmp/s22/ret-$w > /tmp/s22/ret-$w.log 2>&1
  echo "$w rc=$?"
done
