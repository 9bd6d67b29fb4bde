set -u
H=/tmp/gnadhome
rm -rf $H; mkdir -p $H /tmp/gnadingest
ln -s /root/.cache/rag/models $H/models
cd /work/main && . .venv/bin/activate
export RAG_HOME=$H RAG_INDEX_DIR=$H/index
date
/usr/bin/time -v rag ingest /work/shared/gnad/articles > /tmp/gnadingest/ingest.out 2> /tmp/gnadingest/ingest.err
echo "ingest rc=$?"
du -sb $H/index
date
