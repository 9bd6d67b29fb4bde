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
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from embeddings.onnx_export import TOKEN_STATES

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SOLO_RUNS = "+solo"
"""Part of the model id: vectors of one text per run never mix with an index of batched ones."""

IN_PASSAGE = "+in-passage"
"""Part of the model id of an embedder whose index sentences are pooled from their passage's run."""

Span = tuple[int, int]
T = TypeVar("T")


def linear_head(model_dir: Path) -> np.ndarray | None:
    """The modules after mean pooling folded into one matrix, if they are bias-free linear maps.

    EmbeddingGemma's two Dense layers (768 -> 3072 -> 768) have no bias and no activation, so
    the head of a mean of token states is the mean of the heads: a sentence's vector can be
    pooled from the tokens it holds in its passage's run. ``None`` for any other head.
    """
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, IndexError, KeyError):
        return None
    if not pooling.get("pooling_mode_mean_tokens") or any(
            pooling.get(k) for k in pooling if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"):
        return None
    from safetensors.numpy import load_file

    head: np.ndarray | None = None
    for module in modules[2:]:
        kind = module.get("type", "")
        if kind.endswith(".Normalize"):
            continue
        if not kind.endswith(".Dense"):
            return None
        folder = model_dir / module["path"]
        config = json.loads((folder / "config.json").read_text())
        if config.get("bias") or not str(config.get("activation_function", "")).endswith("Identity"):
            return None
        weight = load_file(str(folder / "model.safetensors"))["linear.weight"].astype(np.float32)
        head = weight if head is None else weight @ head
    return None if head is None else np.ascontiguousarray(head.T)


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


def _unit(vec: np.ndarray) -> np.ndarray:
    return vec / max(float(np.linalg.norm(vec)), 1e-12)


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

    def warm_up(self) -> None:
        """Open the model now: on a fresh machine its first use exports it (about 2 minutes on 2 cores),
        which an ingest reports apart from its embedding rate."""
        self._session_()

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
        vec = session.run(["sentence_vector"], {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})[0]
        return _unit(np.asarray(vec[0], dtype=np.float32))

    def _tokenizer_(self) -> Tokenizer:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tok.enable_truncation(max_length(self.model_dir))
            tok.no_padding()
            self._tokenizer = tok
        return self._tokenizer

    def _spread(self, count: int, work: Callable[[Any, int], T]) -> list[T]:
        """``work(session, k)`` for k in ``range(count)``, in order; session j takes k = j, j + n, ..."""
        sessions = self._sessions(count)
        n = len(sessions)
        if n == 1:
            return [work(sessions[0], k) for k in range(count)]
        with ThreadPoolExecutor(n) as pool:
            parts = list(pool.map(lambda j: [work(sessions[j], k) for k in range(j, count, n)], range(n)))
        return [parts[k % n][k // n] for k in range(count)]

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = [e.ids for e in self._tokenizer_().encode_batch([prompt + t for t in texts])]
        return np.stack(self._spread(len(ids), lambda session, k: self._run(session, ids[k])))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts.get("query", ""))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts.get("document", ""))


class InPassageEmbedder(OnnxEmbedder):
    """``OnnxEmbedder`` that also pools each sentence's vector from its passage's run (a ``PassageEmbedder``).

    Its id differs (``IN_PASSAGE``): an index of sentences pooled in their passages never mixes
    with one of sentences embedded alone, though queries and passages get the same vectors.
    """

    def __init__(self, model_dir: Path, locate: Callable[[], Path], model_id: str, threads: int = 2,
                 dimension: int | None = None) -> None:
        super().__init__(model_dir, locate, model_id + IN_PASSAGE, threads, dimension)
        self._head: np.ndarray | None | bool = False

    def _head_(self) -> np.ndarray | None:
        if self._head is False:
            self._head = linear_head(self.model_dir)
        return self._head if isinstance(self._head, np.ndarray) else None

    def embed_passages(self, texts: Sequence[str],
                       spans: Sequence[Sequence[Span]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each passage's vector, and one vector per span (its sentences) pooled from the same run.

        Embedding the 23,026 GNAD sentences alone beside their 6,696 passages made the archive's
        ingest 6 min 36 s; pooled from the passage's token states ("late chunking") a sentence
        costs nothing more and the ingest took 2 min 57 s (2 cores). Each span's vector is the
        head of the mean of the tokens it overlaps, so it carries its passage's context ("Das
        kündigte Lawrow an" is read with the sentence before it), which also makes it rank closer
        to its neighbours: seeds recall@1 fell from 0.721 to 0.628, hence a profile, not the
        default. A span with no token (cut off by the length limit) is embedded alone. The heads
        are applied in one product after the runs: applied in the worker threads they cost 57%
        more time, OpenBLAS's threads spinning beside ONNX Runtime's.
        """
        prompt = self._prompts.get("document", "")
        head = self._head_()
        if head is None or not texts:
            return self.embed_documents(texts), [self.embed_documents([t[a:b] for a, b in s]) for t, s in
                                                  zip(texts, spans, strict=True)]
        encodings = self._tokenizer_().encode_batch([prompt + t for t in texts])
        skip = len(prompt)

        def one(session: Any, k: int) -> tuple[np.ndarray, list[np.ndarray | None]]:
            ids = np.asarray([encodings[k].ids], dtype=np.int64)
            vec, states = session.run(["sentence_vector", TOKEN_STATES],
                                      {"input_ids": ids, "attention_mask": np.ones_like(ids)})
            offsets = encodings[k].offsets
            inside: list[np.ndarray | None] = []
            for a, b in spans[k]:
                rows = [i for i, (s, e) in enumerate(offsets) if e > s and s < skip + b and e > skip + a]
                inside.append(np.asarray(states[0][rows], np.float32).mean(axis=0) if rows else None)
            return _unit(np.asarray(vec[0], np.float32)), inside

        results = self._spread(len(texts), one)
        passages = np.stack([r[0] for r in results])
        means = [v for _, inside in results for v in inside if v is not None]
        if means:
            headed = np.stack(means) @ head
            headed /= np.maximum(np.linalg.norm(headed, axis=1, keepdims=True), 1e-12)
            rows = iter(headed)
            for _, inside in results:
                inside[:] = [next(rows) if v is not None else None for v in inside]
        per_span: list[np.ndarray] = []
        for k, (_, inside) in enumerate(results):
            alone = [i for i, v in enumerate(inside) if v is None]
            if alone:
                filled = self.embed_documents([texts[k][spans[k][i][0]:spans[k][i][1]] for i in alone])
                for i, v in zip(alone, filled, strict=True):
                    inside[i] = v
            per_span.append(np.stack([v for v in inside if v is not None]) if inside
                            else np.zeros((0, passages.shape[1]), np.float32))
        return passages, per_span
