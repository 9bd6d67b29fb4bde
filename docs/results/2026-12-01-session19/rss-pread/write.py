"""Write one persistent synthetic archive (the bench's own write path), to measure it with two codes."""
import sys
from pathlib import Path
from rag.bench.archive import default_pool_dirs, load_pool, split_pool, write_archive, QUERIES, _log
from rag.settings import default_home

n, root = int(sys.argv[1]), Path(sys.argv[2])
pool, note = load_pool(default_pool_dirs(default_home()), _log)
_log(f"pool: {note}")
corpus, _ = split_pool(pool, QUERIES, 0)
build = write_archive(corpus, n, root, 0)
_log(f"wrote {build}")
