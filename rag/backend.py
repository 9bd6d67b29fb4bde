"""What retrieval and ingestion ask of an index store, so the embedded one and PostgreSQL are interchangeable.

Two backends satisfy these protocols: ``rag.store.Store`` (segments on disk: FAISS, SQLite FTS5;
the default) and ``rag.pgstore.PgStore`` (PostgreSQL with pgvector, chosen by ``RAG_STORE_URL``).
Both hand out snapshots that number passages and sentences 0..n-1 and give raw material only:
vector scores, BM25 scores, stored sentence vectors, passages with their offsets. Fusion,
evidence selection and citation offsets stay in ``rag.retrieve`` and after it, so both backends
rank the same way and nothing in the answer path knows which one it reads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from rag.manifest import Manifest
from rag.segment import Batch
from rag.snapshot import PassageIndex
from rag.types import Document, Passage


class SentenceIdsView(Protocol):
    """``sentence_ids[pid]``: the snapshot ids of a passage's sentences, consecutive."""

    def __len__(self) -> int: ...

    def __getitem__(self, pid: int, /) -> tuple[int, ...]: ...

    def owners(self) -> np.ndarray: ...


class SentenceVectorsView(Protocol):
    """The stored sentence vectors as one float32 matrix: rows by id, or a product with a query."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: Any, /) -> np.ndarray: ...

    def __matmul__(self, q: np.ndarray, /) -> np.ndarray: ...


class LexicalView(Protocol):
    """BM25 (``rag.lexical``'s formula) over the snapshot's passages."""

    def scores(self, query: Sequence[str]) -> np.ndarray: ...

    def known(self, term: str) -> bool: ...


class IndexSnapshot(Protocol):
    """One generation as retrieval reads it (see ``rag.snapshot.Snapshot``)."""

    @property
    def manifest(self) -> Manifest: ...

    @property
    def documents(self) -> Mapping[str, Document]: ...

    @property
    def passages(self) -> Sequence[Passage]: ...

    @property
    def sentence_ids(self) -> SentenceIdsView: ...

    @property
    def passage_index(self) -> PassageIndex: ...

    @property
    def sentence_vectors(self) -> SentenceVectorsView: ...

    @property
    def lexical(self) -> LexicalView: ...

    def passages_of(self, doc_id: str) -> list[Passage]: ...

    def passage_count(self, doc_id: str) -> int: ...


class IndexStore(Protocol):
    """Generations written one writer at a time and switched atomically; readers never see half of one."""

    def exists(self) -> bool: ...

    def load(self) -> IndexSnapshot: ...

    def writer(self) -> AbstractContextManager[None]: ...

    def check_writable(self) -> None: ...

    def check_embedder(self, manifest: Manifest, embedder_id: str, dimension: int | None = None) -> None: ...

    def commit(self, manifest: Manifest, batch: Batch, remove: Collection[str] = (),
               replace_all: bool = False) -> object: ...

    def tidy(self) -> None: ...

    def legacy_documents(self) -> dict[str, Document] | None: ...

    def verify(self) -> int: ...
