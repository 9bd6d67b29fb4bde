set -u
H=/tmp/gnadhome-fromsent
rm -rf $H; mkdir -p $H
ln -s /root/.cache/rag/models $H/models
cd /work/wt-b && . /work/main/.venv/bin/activate
export RAG_HOME=$H RAG_INDEX_DIR=$H/index PYTHONPATH=/work/wt-b
export RAG_PASSAGE_VECTORS=from-sentences
date
/usr/bin/time -v rag ingest /work/shared/gnad/articles > /tmp/s24/ingest/fromsent.out 2> /tmp/s24/ingest/fromsent.err
echo "ingest rc=$?"
du -sb $H/index
date
