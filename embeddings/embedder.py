"""The ``Embedder`` interface and its sentence-transformers implementation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (cosine = dot product)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class PassageEmbedder(Protocol):
    """An embedder that also pools its sentences' vectors from a passage's own run (late chunking)."""

    def embed_passages(self, texts: Sequence[str],
                       spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]: ...


class SentenceTransformerEmbedder:
    """EmbeddingGemma (or any sentence-transformers folder), loaded on first use.

    Documents are embedded in length-sorted batches so padding stays small,
    which matters on a two-core CPU.
    """

    def __init__(self, path: Path, threads: int = 2, batch_size: int = 16, dimension: int | None = None) -> None:
        self.path = path
        self.threads = threads
        self.batch_size = batch_size
        self._dimension = dimension
        self._model: SentenceTransformer | None = None

    @property
    def model_id(self) -> str:
        return f"st:{self.path.name}"

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            dim = self.model.get_embedding_dimension()
            self._dimension = int(dim) if dim else len(self.embed_queries(["x"])[0])
        return self._dimension

    def warm_up(self) -> None:
        """Load the model now, so an ingest times its loading apart from its embedding."""
        _ = self.model

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.disable_progress_bar()
            transformers.logging.set_verbosity_error()

            torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        return self._model

    def _prompt(self, name: str) -> str | None:
        return name if name in (self.model.prompts or {}) else None

    def _encode(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vecs = self.model.encode(
            [texts[i] for i in order],
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out = np.empty_like(vecs)
        out[order] = vecs
        return out.astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompt("query"))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompt("document"))
