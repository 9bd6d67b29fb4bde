"""The ``Embedder`` on ONNX Runtime: a sentence-transformers model exported once to (int8) ONNX.

Ingestion spends nearly all its time in the embedder; on a two-core CPU ONNX Runtime's int8
kernels run EmbeddingGemma several times faster than torch. The exported graph holds the whole
sentence-transformers pipeline (transformer, pooling, dense layers), so this class only
tokenises and normalises. The model file is obtained through ``locate`` on first use,
so constructing an embedder never exports or loads anything.

Each text runs alone. The int8 graph quantizes its activations with one scale per tensor, so a
batched text's vector depended on the other texts (and padding) of its batch: embedded in batches
of 16, 1, 4 or 32, the same seeds sentences agreed only to cosine 0.975 (GNAD passages: mean 0.975,
min 0.965), and a change of ingest order turned a real-tier answer. Alone, a text's vector depends
on the text only (the embedding cache and an incremental ingest rely on that) and is closer to the
float model: mean cosine 0.986 against 0.975 batched. It costs time: 80 GNAD passages of ~850
characters 6.6 s against 5.6 s, 160 short sentences 2.0 s against 1.1 s (2 cores, VNNI).

Many texts run on ``threads`` sessions of one thread each, side by side (ONNX Runtime lets go of
the GIL): one text's run is too small to keep two cores busy, two runs are not. On 300 GNAD
sentences, 2 cores (VNNI): one session of two threads 68 texts/s, two of one thread 98/s; 60
passages of 850 characters 17.1/s and 19.3/s. A vector does not depend on the thread count (the
same bytes at 1 and 2 threads), so the model id stays. A single text (a query) keeps the session
of ``threads`` threads, which answers it sooner, and lets the one-thread sessions go: each holds
the model (a GNAD ingest peaked at 1.44 GB against 0.82 GB), and the chat app that ingested an
upload would keep them for good.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SOLO_RUNS = "+solo"
"""Part of the model id: vectors of one text per run never mix with an index of batched ones."""


def read_prompts(model_dir: Path) -> dict[str, str]:
    """The named prompts of a sentence-transformers folder (``query``, ``document``, ...)."""
    path = model_dir / "config_sentence_transformers.json"
    if not path.is_file():
        return {}
    prompts = json.loads(path.read_text()).get("prompts") or {}
    return {str(k): str(v) for k, v in prompts.items()}


def max_length(model_dir: Path, default: int = 2048) -> int:
    path = model_dir / "sentence_bert_config.json"
    if not path.is_file():
        return default
    return int(json.loads(path.read_text()).get("max_seq_length") or default)


def give_back_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc ``malloc_trim``; elsewhere nothing).

    Two one-thread sessions let go after an ingest left their memory in glibc's free lists, where
    it still counted in RSS: the embedder held 0.60 to 0.71 GB after the next query without the
    trim, 0.42 GB with it (0.50 GB before the ingest).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(name).malloc_trim(0)


class OnnxEmbedder:
    """One text per run of one ONNX Runtime session (see the module's note); vectors L2-normalised."""

    def __init__(self, model_dir: Path, locate: Callable[[], Path], model_id: str, threads: int = 2,
                 dimension: int | None = None) -> None:
        self.model_dir = model_dir
        self.locate = locate
        self._model_id = model_id
        self.threads = threads
        self._dimension = dimension
        self._session: Any = None
        self._side: list[Any] = []
        self._tokenizer: Tokenizer | None = None
        self._prompts = read_prompts(model_dir)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._session_().get_outputs()[0].shape[-1] or len(self.embed_queries(["x"])[0]))
        return self._dimension

    def _session_(self) -> Any:
        if self._session is None:
            self._session = self._open(self.threads)
        return self._session

    def _open(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.locate()), options, providers=["CPUExecutionProvider"])

    def _sessions(self, count: int) -> list[Any]:
        """The sessions ``count`` texts run on: the one of ``threads`` threads, or as many of one thread each."""
        if self.threads < 2 or count < self.threads:
            if self._side:
                self._side = []
                give_back_freed_memory()
            return [self._session_()]
        while len(self._side) < self.threads:
            self._side.append(self._open(1))
        return self._side

    @staticmethod
    def _run(session: Any, ids: list[int]) -> np.ndarray:
        input_ids = np.asarray([ids], dtype=np.int64)
        vec = np.asarray(session.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})[0][0],
                         dtype=np.float32)
        return vec / max(float(np.linalg.norm(vec)), 1e-12)

    def _tokenizer_(self) -> Tokenizer:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tok.enable_truncation(max_length(self.model_dir))
            tok.no_padding()
            self._tokenizer = tok
        return self._tokenizer

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = [e.ids for e in self._tokenizer_().encode_batch([prompt + t for t in texts])]
        sessions = self._sessions(len(ids))
        if len(sessions) == 1:
            return np.stack([self._run(sessions[0], row) for row in ids])
        n = len(sessions)
        with ThreadPoolExecutor(n) as pool:
            parts = list(pool.map(lambda k: [self._run(sessions[k], row) for row in ids[k::n]], range(n)))
        out = np.empty((len(ids), len(parts[0][0])), dtype=np.float32)
        for k, part in enumerate(parts):
            out[k::n] = part
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts.get("query", ""))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts.get("document", ""))
