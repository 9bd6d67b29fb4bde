set -u
H=/tmp/gnadhome
rm -rf $H /tmp/gnad-extra; mkdir -p $H /tmp/gnad-extra
ln -s /root/.cache/rag/models $H/models
cd /work/main && . .venv/bin/activate
export RAG_HOME=$H RAG_INDEX_DIR=$H/index
date
/usr/bin/time -v rag ingest /work/shared/gnad/articles > /tmp/gnadingest/ingest.out 2> /tmp/gnadingest/ingest.err
echo "ingest rc=$?"
du -sb $H/index
sed 's/Die /Der /' /work/shared/gnad/articles/gnad_0007.txt > /tmp/gnad-extra/extra_article.txt
/usr/bin/time -v rag ingest /tmp/gnad-extra > /tmp/gnadingest/add.out 2> /tmp/gnadingest/add.err
echo "add rc=$?"
/usr/bin/time -v rag ingest --remove extra_article > /tmp/gnadingest/remove.out 2> /tmp/gnadingest/remove.err
echo "remove rc=$?"
/usr/bin/time -v rag ask "Wer ist der Trainer von Rapid Wien?" --json > /tmp/gnadingest/ask.out 2> /tmp/gnadingest/ask.err
echo "ask rc=$?"
date
