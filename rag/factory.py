"""The one place where settings become concrete components."""

from __future__ import annotations

from pathlib import Path

from embeddings.embedder import Embedder, SentenceTransformerEmbedder
from rag.backend import IndexStore
from rag.embed_cache import EmbeddingCache
from rag.errors import InputError, ModelError
from rag.focused import FocusedReader
from rag.generate import Generator, LlamaGenerator
from rag.grounded import GroundedAnswerer, GroundedChecker
from rag.judge import LlmAnswerJudge
from rag.models import resolve_embedder, resolve_llm
from rag.pipeline import Assistant
from rag.retrieve import Retriever
from rag.rewrite import LlmRewriter
from rag.settings import Settings
from rag.store import Store
from rag.translate import PhraseTranslator

EMBED_BACKENDS = ("torch", "onnx-int8")


def build_embedder(settings: Settings) -> Embedder:
    """``torch``: the float model as published; ``onnx-int8``: its int8 ONNX export, built once."""
    if settings.embed_backend == "torch":
        return SentenceTransformerEmbedder(resolve_embedder(settings), settings.threads, settings.embed_batch)
    if settings.embed_backend == "onnx-int8":
        from embeddings.onnx_embedder import SOLO_RUNS, InPassageEmbedder, OnnxEmbedder
        from embeddings.onnx_export import VECTORS_VERSION, ExportError, ensure_int8

        source = resolve_embedder(settings)
        cache = settings.models_dir / "onnx"

        def locate() -> Path:
            try:
                return ensure_int8(source, cache, settings.threads)
            except ExportError as exc:
                raise ModelError(f"{exc}; use RAG_EMBED_BACKEND=torch for the float model") from None

        kind = {"alone": OnnxEmbedder, "in-passage": InPassageEmbedder}.get(settings.sentence_vectors)
        if kind is None:
            raise InputError(f"sentence_vectors {settings.sentence_vectors!r} is not 'alone' or 'in-passage'")
        return kind(source, locate, f"st:{source.name}+onnx-int8-v{VECTORS_VERSION}{SOLO_RUNS}", settings.threads)
    raise InputError(f"embed_backend {settings.embed_backend!r} is not one of {', '.join(EMBED_BACKENDS)}")


def build_embed_cache(settings: Settings) -> EmbeddingCache:
    return EmbeddingCache(settings.embed_cache_path)


def build_generator(settings: Settings) -> Generator:
    """The local GGUF via llama.cpp (loaded on first use), or with ``RAG_LLM_URL`` an OpenAI-compatible server.

    Every generation (draft, judges, rewrite, translation) goes through the one generator chosen here.
    """
    if settings.llm_url:
        from rag.remote import RemoteGenerator, parse_extra

        return RemoteGenerator(settings.llm_url, settings.llm_model, settings.llm_key, parse_extra(settings.llm_extra))
    return LlamaGenerator(resolve_llm(settings), settings.threads, settings.n_ctx, mmap=settings.llm_mmap)


def build_store(settings: Settings) -> IndexStore:
    """The embedded store under ``index_path``, or PostgreSQL when ``store_url`` names a database."""
    if not settings.store_url:
        return Store(settings.index_path)
    if not settings.store_url.startswith(("postgresql://", "postgres://")):
        raise InputError(f"store_url must start with postgresql:// (RAG_STORE_URL), not {settings.store_url[:20]!r}")
    from rag.pgstore import PgStore

    return PgStore(settings.store_url)


def build_retriever(settings: Settings, embedder: Embedder | None = None) -> Retriever:
    store = build_store(settings)
    snapshot = store.load()
    embedder = embedder or build_embedder(settings)
    store.check_embedder(snapshot.manifest, embedder.model_id)
    return Retriever(snapshot, embedder)


def build_assistant(settings: Settings, embedder: Embedder | None = None,
                    generator: Generator | None = None) -> Assistant:
    retriever = build_retriever(settings, embedder)
    generator = generator or build_generator(settings)
    judge = LlmAnswerJudge(generator, settings.judge_threshold) if settings.llm_judge else None
    read = FocusedReader(generator) if settings.llm_judge else None
    checker = GroundedChecker(retriever=retriever, judge=judge, read=read, checks=settings.checks,
                              corroborate=settings.corroborate, tries=settings.quote_tries,
                              translate=PhraseTranslator(generator))
    answerer = GroundedAnswerer(retriever=retriever, generator=generator, checker=checker, top_k=settings.passages,
                                max_tokens=settings.max_tokens, temperature=settings.temperature,
                                max_sentences=settings.max_sentences)
    return Assistant(answerer, settings.refuse_below, settings.verify,
                     LlmRewriter(generator) if settings.rewrite else None)
