import sys, time, hashlib
from pathlib import Path
from embeddings.onnx_export import ensure_int8
t = time.time()
p = ensure_int8(Path.home() / ".cache/rag/models/embeddinggemma-300m", Path(sys.argv[1]))
h = hashlib.sha256(p.read_bytes()).hexdigest()
print(p, h, f"{time.time()-t:.0f}s", flush=True)
