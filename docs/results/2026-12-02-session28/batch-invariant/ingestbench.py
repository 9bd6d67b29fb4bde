import sys, time, glob, json, resource
from pathlib import Path
sys.path.insert(0, '/tmp/s28')
from rag.settings import Settings
from rag.factory import build_embedder
from rag.ingest import Ingestor
from rag.store import Store
mode, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
settings = Settings.from_env()
emb = build_embedder(settings)
if mode == 'batched':
    import proto
    proto.patch(None)
    emb.locate = lambda: Path('/tmp/s28/v5/model.onnx')
files = sorted(glob.glob('/work/shared/gnad/articles/*'))[:n]
store = Store(out)
t = time.perf_counter()
rep = Ingestor(store, emb, settings.chunk_chars).ingest([Path(f) for f in files], rebuild=True)
dt = time.perf_counter() - t
print(mode, n, 'articles %.1f s %.2f articles/s' % (dt, n / dt), 'peak RSS %.2f GB' % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6))
print(rep)
