. /work/main/.venv/bin/activate
cd /work/wt-late
export PYTHONPATH=/work/wt-late RAG_SENTENCE_VECTORS=in-passage RAG_INDEX_DIR=/tmp/s22/inpassage-seeds-index
rm -rf $RAG_INDEX_DIR
rag ingest seeds
date
rag eval --dataset seeds-tune,seeds-gate,gnad --design checked --no-agreement --report /tmp/s22/ans-inpassage > /tmp/s22/ans-inpassage.log 2>&1
echo "seeds/gnad rc=$?"; date
rag eval --dataset xquad --design checked --no-agreement --report /tmp/s22/ans-inpassage-xquad > /tmp/s22/ans-inpassage-xquad.log 2>&1
echo "xquad rc=$?"; date
