set -u
H=/tmp/gnadhome-alone
rm -rf $H; mkdir -p $H
ln -s /root/.cache/rag/models $H/models
cd /work/wt-main && . /work/main/.venv/bin/activate
export RAG_HOME=$H RAG_INDEX_DIR=$H/index PYTHONPATH=/work/wt-main
date
/usr/bin/time -v rag ingest /work/shared/gnad/articles > /tmp/s22/gnad-ingest/alone.out 2> /tmp/s22/gnad-ingest/alone.err
echo "ingest rc=$?"
du -sb $H/index
date
