"""When to rewrite segments: few segments to search, little rewriting per added article.

Every write adds a segment, so without merging a thousand single-article uploads would leave a
thousand segments, each searched on every question. The policy is tiered, as in Lucene: a
segment's tier is ``floor(log_FACTOR(live passages))``; when a tier holds ``FACTOR`` segments they
are merged into one of the next tier. A passage is therefore rewritten about once per tier it
climbs (``log_4`` of the index size: 9 times up to 262k passages), and at most ``FACTOR - 1``
segments wait in each tier. Adding one article usually merges nothing; every fourth addition
merges four small segments, every sixteenth one more tier, and so on. A segment of which more than
``PURGE`` of the passages were removed is rewritten without them, and one with nothing live left
is dropped without a write.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

FACTOR = 4
PURGE = 0.5


@dataclass(frozen=True)
class Size:
    """What the policy sees of a segment: its live passages out of all its rows."""

    live: int
    rows: int


@dataclass(frozen=True)
class Group:
    """Segments (positions in the generation, oldest first) that become one; ``rewrite`` is False
    for a segment kept as it is."""

    members: tuple[int, ...]
    rewrite: bool


def tier(live: int, factor: int = FACTOR) -> int:
    return int(math.log(max(live, 1), factor) + 1e-9)


def plan(sizes: Sequence[Size], factor: int = FACTOR, purge: float = PURGE) -> list[Group]:
    """The segments of the next generation, in order, each made of some of the current ones.

    A merged segment takes the place of its oldest member; segments with nothing live are left out.
    """
    groups = [Group((i,), s.rows - s.live > purge * s.rows) for i, s in enumerate(sizes) if s.live > 0]
    while True:
        by_tier: dict[int, list[int]] = {}
        for at, g in enumerate(groups):
            by_tier.setdefault(tier(sum(sizes[i].live for i in g.members), factor), []).append(at)
        full = [ats for _, ats in sorted(by_tier.items()) if len(ats) >= factor]
        if not full:
            return groups
        ats = full[0]
        merged = Group(tuple(sorted(i for at in ats for i in groups[at].members)), True)
        groups = [merged if at == ats[0] else g for at, g in enumerate(groups) if at == ats[0] or at not in ats]
