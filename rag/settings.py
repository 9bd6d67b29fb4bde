"""One settings object for the whole app.

Values come from defaults, then ``RAG_*`` environment variables, then CLI flags
(``Settings.with_overrides``), so every entry point configures the same way.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "RAG_"


def default_home() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "rag"


def default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    index_dir: Path | None = None
    llm_path: Path | None = None
    embedder_path: Path | None = None
    threads: int = field(default_factory=default_threads)
    passages: int = 4
    """Passages retrieved and shown to the model (``--passages``, formerly ``--top-k``)."""
    temperature: float = 0.0
    max_tokens: int = 200
    max_sentences: int = 3
    """Checked answer sentences kept."""
    n_ctx: int = 2048
    llm_mmap: bool = False
    """Map the GGUF file instead of reading it. llama.cpp repacks the Q4_K weights into anonymous memory
    either way, so a mapped file stays in RSS beside its repacked copy: 1.84 GB against 1.24 GB read
    (Qwen2.5-Coder-1.5B, 2 cores, same tokens); mapping loads 0.5 s sooner."""
    chunk_chars: int = 500
    refuse_below: float = 0.30
    corroborate: int = 1
    """Quotes from other articles added to a sentence's citation when the same checks accept them."""
    quote_tries: int = 3
    """Candidate quotes (one per passage) read for an answer sentence before it is dropped. Re-assembled
    from the same drafts (session 27), 3 gave the figures of 4 on seeds-tune, seeds-gate, GNAD dev and
    the XQuAD sample, each fourth read being one more for a sentence that was then dropped; 2 lost a
    right answer on seeds-gate and on GNAD, 1 lost 1-3 per set."""
    verify: bool = True
    llm_judge: bool = True
    rewrite: bool = True
    embed_batch: int = 16
    embed_backend: str = "onnx-int8"
    sentence_vectors: str = "alone"
    """``alone``: each sentence embedded by itself; ``in-passage``: pooled from its passage's run
    (``onnx-int8`` only). The second ingests the 1,028 GNAD articles in 2:53 instead of 4:05 (same
    machine), with XQuAD recall@5 0.998 (0.997 alone) but seeds recall@1 0.63 against 0.72 and GNAD
    recall@10 0.96 against 1.0: a profile for bulk ingest, not the default."""
    checks: str = ""
    """Answer checks to switch off, e.g. ``-answer_judge,-fact_kind`` (see ``rag.checks``)."""
    judge_threshold: float = 0.5
    """The answer judge says yes when P(yes) / (P(yes) + P(no)) reaches this (0.5 is greedy decoding)."""
    ui_auth: str = field(default="", repr=False)
    """The chat app's login: ``user:password`` or a token; required when it listens beyond loopback."""
    ui_timeout_s: float = 120.0
    """The chat app and ``rag serve`` stop an answer (and free the model) after this many seconds."""
    store_url: str = field(default="", repr=False)
    """``postgresql://…``: keep the index in PostgreSQL with pgvector (``rag.pgstore``) instead of ``index_dir``."""
    llm_url: str = ""
    """An OpenAI-compatible server to generate with (``http://host:8080/v1``); empty: the local GGUF."""
    llm_model: str = ""
    """The model name sent to ``llm_url``; empty: the first model its ``/v1/models`` lists."""
    llm_key: str = field(default="", repr=False)
    """Bearer key for ``llm_url``, if it asks for one."""
    llm_extra: str = ""
    """A JSON object added to every request to ``llm_url``, e.g. ``{"repeat_penalty": 1.0}``."""
    api_key: str = field(default="", repr=False)
    """The key ``rag serve`` asks of its clients (``Authorization: Bearer``); required beyond loopback."""
    api_public_url: str = ""
    """The address clients reach ``rag serve`` at, for its article links; empty: the request's own host."""

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def downloads_dir(self) -> Path:
        return self.home / "downloads"

    @property
    def embed_cache_path(self) -> Path:
        return self.home / "cache" / "embeddings.sqlite"

    @property
    def index_path(self) -> Path:
        return self.index_dir or self.home / "index"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None and f.name == "home":
                raw = env.get("RAG_HOME")
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw)
        return cls(**values)  # type: ignore[arg-type]

    def with_overrides(self, **overrides: object) -> Settings:
        given = {k: _convert(k, v) if isinstance(v, str) else v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **given)  # type: ignore[arg-type]


_PATHS = {"home", "index_dir", "llm_path", "embedder_path"}
_INTS = {"threads", "passages", "max_tokens", "n_ctx", "chunk_chars", "embed_batch", "max_sentences", "corroborate",
         "quote_tries"}
_FLOATS = {"judge_threshold", "temperature", "refuse_below", "ui_timeout_s"}
_BOOLS = {"verify", "llm_judge", "rewrite", "llm_mmap"}


def _convert(name: str, raw: str) -> object:
    try:
        if name in _PATHS:
            return Path(raw).expanduser()
        if name in _INTS:
            return int(raw)
        if name in _FLOATS:
            return float(raw)
        if name in _BOOLS:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError("expected true or false")
            return raw.lower() in ("1", "true", "yes", "on")
    except ValueError as exc:
        raise ValueError(f"setting {name}: cannot read {raw!r} ({exc})") from None
    return raw
