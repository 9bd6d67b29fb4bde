"""The queries existing_archive makes for an index: its own sentences, vector plus noise (seed 0)."""
import sys
from pathlib import Path
import numpy as np
from rag.bench.archive import Queries, QUERIES, _noisy
from rag.store import Store
root, out = Path(sys.argv[1]), Path(sys.argv[2])
snapshot = Store(root).load()
rng = np.random.default_rng([0, 11])
pids = rng.choice(len(snapshot.passages), size=min(QUERIES, len(snapshot.passages)), replace=False)
texts = [snapshot.passages[int(p)].sentences[0].text for p in pids]
base = snapshot.sentence_vectors[np.array([snapshot.sentence_ids[int(p)][0] for p in pids])]
Queries(tuple(texts), _noisy(base, rng), np.zeros(len(texts), bool)).save(out)
