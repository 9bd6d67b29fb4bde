"""The evaluation suite: QA sets, metrics, the support judge, gates and reports."""


def index_slug(embedder_id: str) -> str:
    """An embedder id as part of a folder name: each eval index is kept per embedder."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in embedder_id)
