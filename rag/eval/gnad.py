"""The GNAD dev set: questions on a real archive of 1,028 German news articles (10kGNAD).

The articles are read from ``../shared/gnad/articles`` (or ``RAG_GNAD_DIR``) and indexed into a
folder of their own under the cache, one per embedder; nothing of them is copied into the project.
The questions (``rag/data/gnad_qa.jsonl``, CC BY-NC-SA 4.0, derived from 10kGNAD) were written on
articles drawn by a fixed seed and checked by grep against the whole archive.

Ingest runs at about one article a second on 2 cores, so by default the index holds the articles the
questions were written on plus others drawn by a fixed seed up to ``RAG_GNAD_ARTICLES`` (300);
``RAG_GNAD_ARTICLES=all`` indexes the whole archive. An unanswerable question was checked against
all 1,028 articles, so it stays unanswerable in any subset.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from embeddings.embedder import Embedder
from rag.errors import InputError
from rag.eval import index_slug
from rag.ingest import Ingestor, tqdm_progress
from rag.parse import parse_file
from rag.settings import Settings
from rag.store import Store

SEED = 2026
DEFAULT_ARTICLES = 300
QUESTION_SAMPLE = 90


def gnad_dir() -> Path:
    env = os.environ.get("RAG_GNAD_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "gnad" / "articles"


def article_files(folder: Path | None = None) -> list[Path]:
    folder = folder or gnad_dir()
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not files:
        raise InputError(f"GNAD articles not found in {folder} (set RAG_GNAD_DIR)")
    return files


def question_articles(files: list[Path]) -> list[Path]:
    """The articles the questions were written on: a fixed draw from the sorted archive."""
    return random.Random(SEED).sample(files, min(QUESTION_SAMPLE, len(files)))


def chosen_articles(files: list[Path], limit: int | None, must: set[str]) -> list[Path]:
    """The question articles and every gold article first, then a fixed draw of others up to ``limit``."""
    if limit is None or limit >= len(files):
        return files
    first = question_articles(files) + [f for f in files if f.stem in must]
    rest = [f for f in files if f not in first]
    random.Random(SEED + 1).shuffle(rest)
    chosen = list(dict.fromkeys(first))
    return sorted(chosen + rest[: max(0, limit - len(chosen))])


def article_limit() -> int | None:
    raw = os.environ.get("RAG_GNAD_ARTICLES", str(DEFAULT_ARTICLES)).strip().lower()
    if raw == "all":
        return None
    try:
        return max(1, int(raw))
    except ValueError:
        raise InputError(f"RAG_GNAD_ARTICLES must be a number or 'all', not {raw!r}") from None


def gnad_index_dir(settings: Settings, embedder_id: str, count: int) -> Path:
    slug = index_slug(embedder_id)
    return settings.home / f"gnad-index-{count}-{slug}"


def build_index(settings: Settings, embedder: Embedder, gold_docs: set[str]) -> Store:
    """Index the chosen articles (parsed as any user file is) once per embedder and article count."""
    from rag.factory import build_embed_cache

    files = chosen_articles(article_files(), article_limit(), gold_docs)
    store = Store(gnad_index_dir(settings, embedder.model_id, len(files)))
    docs = [parse_file(f) for f in files]
    Ingestor(store, embedder, settings.chunk_chars, tqdm_progress("gnad embedding"),
             cache=build_embed_cache(settings)).ingest_documents(docs)
    return store
