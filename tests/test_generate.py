"""The KV-state cache keeps one state per prompt prefix, so memory stays flat over many questions."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from rag.generate import PrefixSlots, prefix_cache


class FakeRAMCache:
    """Stands in for llama_cpp.LlamaRAMCache (real llama.cpp is not loaded in fast tests)."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self.cache_state: OrderedDict[tuple[int, ...], Any] = OrderedDict()


class State:
    def __init__(self, rows: int) -> None:
        self.scores = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)


ANSWER, JUDGE, RELEVANCE = (1,) * 4, (2,) * 4, (3,) * 4


def test_one_state_per_prefix() -> None:
    policy = PrefixSlots(slots=4, prefix_tokens=4)
    keys = [ANSWER + (10,), JUDGE + (11,), ANSWER + (12,)]
    assert policy.evict(keys, ANSWER + (12,)) == [ANSWER + (10,)]


def test_at_most_slots_prefixes_oldest_go_first() -> None:
    policy = PrefixSlots(slots=2, prefix_tokens=4)
    keys = [ANSWER + (1,), JUDGE + (1,), RELEVANCE + (1,)]
    assert policy.evict(keys, RELEVANCE + (1,)) == [ANSWER + (1,)]


def test_cache_stays_bounded_and_keeps_only_the_last_logits_row() -> None:
    cache = prefix_cache(FakeRAMCache, slots=3)
    for i in range(50):
        for head in (ANSWER, JUDGE, RELEVANCE):
            cache[list(head * 12 + (i,))] = State(rows=5)
    assert len(cache.cache_state) == 3
    assert {k[:4] for k in cache.cache_state} == {ANSWER, JUDGE, RELEVANCE}
    assert all(k[-1] == 49 for k in cache.cache_state)
    state = next(iter(cache.cache_state.values()))
    assert state.scores.shape == (1, 3) and state.scores[0].tolist() == [12.0, 13.0, 14.0]
