"""Content-addressed cache of document vectors, so an interrupted ingest resumes where it stopped.

Ingest writes the index only at the end (atomically), so without this an interrupted run
would lose all its embedding work. Vectors are keyed by the embedder's model id and the
sha256 of the text and committed batch by batch. The cache is only an accelerator: a corrupt
file is moved aside and a fresh one started, and the index never depends on it.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.types import text_digest

_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (model TEXT, digest TEXT, vector BLOB, PRIMARY KEY (model, digest))"
_CHUNK = 500


class EmbeddingCache:
    """``get`` the vectors already known for some texts; ``put`` new ones (committed at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._con = self._open()
            except sqlite3.DatabaseError as exc:
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                self.path.replace(aside)
                print(f"warning: embedding cache {self.path} was unreadable ({exc}); moved to {aside.name}, "
                      "starting a new one", file=sys.stderr)
                self._con = self._open()
        return self._con

    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)
            con.execute("SELECT count(*) FROM vectors").fetchone()
            con.commit()
        except sqlite3.DatabaseError:
            con.close()
            raise
        return con

    def get(self, model: str, texts: Sequence[str], dimension: int) -> dict[str, np.ndarray]:
        """Cached vectors by text; texts not cached (or stored with another dimension) are absent."""
        digests = {text_digest(t): t for t in texts}
        keys = list(digests)
        found: dict[str, np.ndarray] = {}
        con = self._connect()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            rows = con.execute(f"SELECT digest, vector FROM vectors WHERE model = ? AND digest IN "
                               f"({','.join('?' * len(chunk))})", [model, *chunk]).fetchall()
            for digest, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if len(vec) == dimension:
                    found[digests[digest]] = vec
        return found

    def put(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        con = self._connect()
        rows = [(model, text_digest(t), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                for t, v in zip(texts, vectors, strict=True)]
        with con:
            con.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
