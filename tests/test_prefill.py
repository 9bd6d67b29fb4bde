"""The KV cells a prompt reuses: exactly its fixed prefix, so a completion depends on its prompt only."""

from __future__ import annotations

from typing import Any

import numpy as np

from rag.generate import _ChatLoop


class FakeCtx:
    def kv_cache_seq_rm(self, seq: int, start: int, end: int) -> bool:
        return True


class FakeState:
    def __init__(self, tokens: list[int]) -> None:
        self.input_ids = np.array(tokens, dtype=np.intc)
        self.n_tokens = len(tokens)


class FakeLlama:
    """What ``_ChatLoop._prefill`` touches of ``llama_cpp.Llama``: the context's tokens, eval and the RAM cache."""

    def __init__(self) -> None:
        self.input_ids = np.zeros(0, dtype=np.intc)
        self.n_tokens = 0
        self._requires_eval = False
        self._ctx = FakeCtx()
        self.cache: dict[tuple[int, ...], FakeState] | None = None
        self.evals: list[list[int]] = []

    def eval(self, tokens: list[int]) -> None:
        self.evals.append(list(tokens))
        self.input_ids = np.concatenate([self.input_ids[: self.n_tokens], np.array(tokens, dtype=np.intc)])
        self.n_tokens = len(self.input_ids)


class FakeCache(dict[tuple[int, ...], FakeState]):
    """Longest-common-prefix lookup, as ``LlamaRAMCache`` does."""

    def __getitem__(self, key: Any) -> FakeState:
        best = max(self.values(), key=lambda s: _shared(s.input_ids, key), default=None)
        if best is None:
            raise KeyError(key)
        return best


def _shared(held: np.ndarray, tokens: list[int]) -> int:
    n = 0
    for a, b in zip(held, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n


def loop(llm: FakeLlama) -> _ChatLoop:
    chat = _ChatLoop.__new__(_ChatLoop)
    chat.llm = llm  # type: ignore[assignment]
    chat._restore = lambda state: _restore(llm, state)  # type: ignore[method-assign]
    return chat


def _restore(llm: FakeLlama, state: FakeState) -> None:
    llm.input_ids = state.input_ids.copy()
    llm.n_tokens = state.n_tokens


JUDGE = [1, 2, 3, 4]
ANSWER = [7, 8, 9, 9]


def test_cold_prompt_evaluates_the_fixed_prefix_alone_then_the_rest() -> None:
    llm = FakeLlama()
    loop(llm)._prefill(JUDGE + [20, 21, 22], fixed=4)
    assert llm.evals == [JUDGE, [20, 21, 22]]


def test_only_the_fixed_prefix_is_reused_even_when_more_is_shared() -> None:
    llm = FakeLlama()
    chat = loop(llm)
    chat._prefill(JUDGE + [20, 21, 22, 30], fixed=4)
    llm.evals.clear()
    chat._prefill(JUDGE + [20, 21, 22, 31], fixed=4)
    # the passage tokens 20-22 are shared with the last call but evaluated again, in one batch with the rest
    assert llm.evals == [[20, 21, 22, 31]]
    assert llm.input_ids.tolist() == JUDGE + [20, 21, 22, 31]


def test_a_partly_shared_prefix_is_not_reused() -> None:
    llm = FakeLlama()
    chat = loop(llm)
    chat._prefill([1, 2, 5, 6, 40], fixed=4)
    llm.evals.clear()
    chat._prefill(JUDGE + [41], fixed=4)
    assert llm.evals == [JUDGE, [41]]


def test_the_fixed_prefix_comes_from_the_ram_cache_when_the_context_holds_another_prompt() -> None:
    llm = FakeLlama()
    llm.cache = FakeCache()
    llm.cache[tuple(JUDGE + [20, 21])] = FakeState(JUDGE + [20, 21])
    chat = loop(llm)
    chat._prefill(ANSWER + [50, 51], fixed=4)
    llm.evals.clear()
    chat._prefill(JUDGE + [22], fixed=4)
    assert llm.evals == [[22]]
    assert llm.input_ids.tolist() == JUDGE + [22]


def test_same_prompt_after_different_histories_gets_the_same_evaluation() -> None:
    runs = []
    for history in ([JUDGE + [20, 21, 22]], [ANSWER + [5]], [JUDGE + [20, 99]], []):
        llm = FakeLlama()
        chat = loop(llm)
        for prompt in history:
            chat._prefill(prompt, fixed=4)
        llm.evals.clear()
        chat._prefill(JUDGE + [20, 21, 23], fixed=4)
        runs.append(llm.evals[-1])
    assert all(r == [20, 21, 23] for r in runs)


def test_fixed_length_is_everything_before_the_last_message() -> None:
    llm = FakeLlama()
    llm.tokenize = lambda data, add_bos, special: [ord(c) for c in data.decode()]  # type: ignore[attr-defined]
    text = "<sys>rules<user>Passage: X\nClaim: Y<asst>"
    prompt = [ord(c) for c in text]
    messages = [{"role": "system", "content": "rules"}, {"role": "user", "content": "Passage: X\nClaim: Y"}]
    fixed = loop(llm)._fixed_length(text, prompt, messages, add_bos=False)
    assert text[:fixed] == "<sys>rules<user>"
    assert loop(llm)._fixed_length(text, prompt, [], add_bos=False) == 0


def test_a_shared_start_of_the_last_message_is_part_of_the_fixed_prefix() -> None:
    from rag.generate import SHARED

    llm = FakeLlama()
    llm.tokenize = lambda data, add_bos, special: [ord(c) for c in data.decode()]  # type: ignore[attr-defined]
    text = "<sys>rules<user>Use these:\n\nPassage X. Question Y<asst>"
    prompt = [ord(c) for c in text]
    user = {"role": "user", "content": "Use these:\n\nPassage X. Question Y", SHARED: "Use these:\n\n"}
    messages = [{"role": "system", "content": "rules"}, user]
    assert text[:loop(llm)._fixed_length(text, prompt, messages, add_bos=False)] == "<sys>rules<user>Use these:\n\n"
    user[SHARED] = "Not its start"
    assert text[:loop(llm)._fixed_length(text, prompt, messages, add_bos=False)] == "<sys>rules<user>"
