"""The ``Generator`` interface and its llama.cpp implementation."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rag.errors import InputError

if TYPE_CHECKING:
    from llama_cpp import Llama

Message = dict[str, str]

SHARED = "shared"
"""Optional key of a message: the start of its ``content`` that every call of its kind repeats.

The KV cells of the prompt up to the end of the last message's ``shared`` part are reused from
call to call (``_ChatLoop._prefill``); without it, only what comes before the last message is.
"""

REPEAT_PENALTY = 1.0
"""No repeat penalty, llama.cpp's default. With top_k=1 a penalty still bends
the greedy choice, and over the last 64 tokens it falls on the question the
prompt repeats last, so names the answer must copy from it cost more. Measured
on all 43 answerable seeds questions and the fixed 100 XQuAD questions:
1.05 gave 32/43 and 38/100, 1.0 33/43 and 39/100, 1.15 32/43."""


@dataclass(frozen=True)
class GenerationStats:
    """What the last ``stream`` call did, counted in tokens (a text piece may hold several).

    ``decode_s`` runs from the first sampled token to the last, so it holds one model
    evaluation per token after the first: the figure raw llama.cpp decoding is compared with.
    """

    prompt_tokens: int
    tokens: int
    decode_s: float

    @property
    def tokens_per_s(self) -> float | None:
        return (self.tokens - 1) / self.decode_s if self.tokens > 1 and self.decode_s > 0 else None


class Generator(Protocol):
    """Streams a chat completion as text pieces; ``last_stats`` describes the last one, if known."""

    @property
    def model_id(self) -> str: ...

    @property
    def last_stats(self) -> GenerationStats | None: ...

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]: ...


@runtime_checkable
class YesNoScorer(Protocol):
    """A generator that can also say how likely its reply begins with yes rather than no.

    A greedy yes/no is a threshold of 0.5 on this probability; the answer judge's threshold is set
    for precision on labelled pairs instead (``rag.eval.calibration``).
    """

    def yes_probability(self, messages: Sequence[Message]) -> float: ...


YES_WORDS = ("yes", "Yes", "YES", "ja", "Ja")
NO_WORDS = ("no", "No", "NO", "nein", "Nein")


class LlamaGenerator:
    """A GGUF chat model via llama-cpp-python, loaded on first use.

    The chat template comes from the GGUF itself. A RAM cache of KV states,
    looked up by longest token prefix, means each fixed system prompt (the
    answer, judge and relevance prompts alternate) is evaluated once and then
    restored instead of recomputed. It keeps one state per system prompt (see
    ``PrefixSlots``), so memory stays flat however many questions are asked.

    Tokens are produced by a loop of our own over ``Llama.eval`` and llama.cpp's
    sampler chain (the same chain ``create_chat_completion`` builds), with the
    text decoded one token at a time (``TextStream``). Going through
    ``create_chat_completion`` cost about a quarter of the generation speed:
    it re-decodes the whole completion after every token and, per
    completion, copies and restores a logits array of n_batch x vocabulary
    (300 MB) with each cached state.
    """

    def __init__(self, path: Path, threads: int = 2, n_ctx: int = 2048, seed: int = 0,
                 cache_slots: int = 4, mmap: bool = False) -> None:
        self.path = path
        self.mmap = mmap
        self.cache_slots = cache_slots
        self.threads = threads
        self.n_ctx = n_ctx
        self.seed = seed
        self._llm: Llama | None = None
        self._chat: _ChatLoop | None = None

    @property
    def model_id(self) -> str:
        return self.path.name

    @property
    def last_stats(self) -> GenerationStats | None:
        return self._chat.last_stats if self._chat is not None else None

    @property
    def llm(self) -> Llama:
        if self._llm is None:
            from llama_cpp import Llama, LlamaRAMCache

            llm = Llama(
                model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads,
                n_threads_batch=self.threads, n_batch=512, seed=self.seed, verbose=False,
                use_mmap=self.mmap,
            )
            llm.set_cache(prefix_cache(LlamaRAMCache, self.cache_slots))
            self._llm = llm
            self._chat = _ChatLoop.for_model(llm)
        return self._llm

    def stream(self, messages: Sequence[Message], max_tokens: int = 200,
               temperature: float = 0.0) -> Iterator[str]:
        llm = self.llm
        if self._chat is not None:
            yield from self._chat.stream(messages, max_tokens, temperature)
            return
        chunks = llm.create_chat_completion(
            messages=list(messages),  # type: ignore[arg-type]
            max_tokens=max_tokens, temperature=temperature, top_k=1 if temperature == 0 else 40,
            repeat_penalty=REPEAT_PENALTY, stream=True,
        )
        for chunk in chunks:
            choice: Any = chunk["choices"][0]  # type: ignore[index]
            piece = choice.get("delta", {}).get("content")
            if piece:
                yield str(piece)

    def yes_probability(self, messages: Sequence[Message]) -> float:
        """P(yes) / (P(yes) + P(no)) for the reply's first token, read from one prompt evaluation."""
        _ = self.llm
        if self._chat is None:
            reply = "".join(self.stream(messages, max_tokens=3)).strip().lower()
            return 1.0 if reply.startswith(("yes", "ja")) else 0.0
        return self._chat.yes_probability(messages)


class _ChatLoop:
    """``create_chat_completion`` for the GGUF's own chat template, without its per-token costs.

    It renders the template as llama-cpp-python does, reuses the KV cells the
    context and the RAM cache share with the prompt, samples with the same
    llama.cpp sampler chain, and stops at an end-of-generation token or the
    template's end-of-turn text.
    """

    def __init__(self, llm: Llama, formatter: Any) -> None:
        self.llm = llm
        self.formatter = formatter
        self._pieces: dict[int, bytes] = {}
        self.last_stats: GenerationStats | None = None

    @classmethod
    def for_model(cls, llm: Llama) -> _ChatLoop | None:
        """None when the model is not driven by its GGUF template (``create_chat_completion`` then serves)."""
        template = llm.metadata.get("tokenizer.chat_template")
        if llm.chat_handler is not None or llm.chat_format != "chat_template.default" or not template:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos, bos = llm.token_eos(), llm.token_bos()
        formatter = Jinja2ChatFormatter(
            template=template, eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "", stop_token_ids=[eos],
        )
        return cls(llm, formatter)

    def piece(self, token: int) -> bytes:
        found = self._pieces.get(token)
        if found is None:
            found = self._pieces[token] = self.llm.detokenize([token])
        return found

    def stream(self, messages: Sequence[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        import llama_cpp

        llm = self.llm
        chat = self.formatter(messages=list(messages))
        prompt = llm.tokenize(chat.prompt.encode("utf-8"), add_bos=not chat.added_special, special=True)
        n_ctx = llm.n_ctx()
        if len(prompt) >= n_ctx:
            raise InputError(f"the question and its sources are {len(prompt)} tokens, more than the model's "
                             f"context of {n_ctx}; ask a shorter question or raise RAG_N_CTX")
        if max_tokens <= 0 or max_tokens + len(prompt) >= n_ctx:
            max_tokens = n_ctx - len(prompt)
        self._prefill(prompt, self._fixed_length(chat.prompt, prompt, messages, not chat.added_special))
        llm.set_seed(random.Random(llm._seed).randint(0, 2**32))
        sampler = llm._init_sampler(top_k=1 if temperature == 0 else 40, top_p=0.95, min_p=0.05, typical_p=1.0,
                                    temp=temperature, repeat_penalty=REPEAT_PENALTY)
        stops = chat.stop if isinstance(chat.stop, list) else [chat.stop] if chat.stop else []
        text = TextStream(self.piece, stops)
        vocab = llm._model.vocab
        completion: list[int] = []
        first = last = 0.0
        self.last_stats = None
        try:
            while len(completion) < max_tokens:
                token = sampler.sample(llm._ctx, -1)
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    break
                last = time.perf_counter()
                first = first or last
                completion.append(token)
                piece = text.push(token)
                if piece:
                    yield piece
                if text.stopped:
                    break
                if len(completion) < max_tokens:
                    llm.eval([token])
            rest = text.finish()
            if rest:
                yield rest
        finally:
            sampler.close()
            self.last_stats = GenerationStats(len(prompt), len(completion), last - first)
        if llm.cache is not None:
            llm.cache[prompt + completion] = self._snapshot()

    def yes_probability(self, messages: Sequence[Message]) -> float:
        import numpy as np

        llm = self.llm
        chat = self.formatter(messages=list(messages))
        prompt = llm.tokenize(chat.prompt.encode("utf-8"), add_bos=not chat.added_special, special=True)
        if len(prompt) >= llm.n_ctx():
            raise InputError(f"a judge prompt of {len(prompt)} tokens exceeds the model's context of {llm.n_ctx()}")
        self._prefill(prompt, self._fixed_length(chat.prompt, prompt, messages, not chat.added_special))
        logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        yes = sum(float(probs[t]) for t in self._first_tokens(YES_WORDS))
        no = sum(float(probs[t]) for t in self._first_tokens(NO_WORDS))
        if llm.cache is not None:
            llm.cache[prompt] = self._snapshot()
        return yes / (yes + no) if yes + no > 0 else 0.0

    def _first_tokens(self, words: Sequence[str]) -> set[int]:
        return {self.llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words}

    def _fixed_length(self, text: str, prompt: list[int], messages: Sequence[Message], add_bos: bool) -> int:
        """How many of ``prompt``'s tokens every call of its kind shares.

        That is everything before the last message, and the last message's ``SHARED`` start: the
        instructions of the passage prompt come before its passages, about 50 tokens that the
        draft and every focused read would otherwise evaluate again (about 0.3 s each, 2 cores).
        """
        if not messages:
            return 0
        content = messages[-1]["content"]
        cut = text.rfind(content)
        if cut <= 0:
            return 0
        shared = messages[-1].get(SHARED, "")
        if shared and content.startswith(shared):
            cut += len(shared)
        head = self.llm.tokenize(text[:cut].encode("utf-8"), add_bos=add_bos, special=True)
        return min(common_prefix(head, prompt), len(prompt) - 1)

    def _prefill(self, prompt: list[int], fixed: int) -> None:
        """Evaluate ``prompt`` up to its last token, reusing cached KV cells only for its fixed part.

        Which KV cells are reused changes how llama.cpp batches the rest, and
        with it the logits in their last digits: enough to flip a yes/no
        verdict, so the same judge call answered yes after one call and no
        after another. Reusing exactly the ``fixed`` prefix (system prompt and
        examples), and always evaluating that prefix alone and the rest in one
        go, makes every completion a function of its prompt only. The cost is
        re-reading text two calls share beyond that prefix, such as a
        passage judged against two claims.
        """
        llm = self.llm
        live = common_prefix(llm.input_ids[: llm.n_tokens], prompt)
        if live < fixed and llm.cache is not None:
            try:
                state = llm.cache[prompt]
            except KeyError:
                state = None
            if state is not None and common_prefix(state.input_ids[: state.n_tokens], prompt) >= fixed:
                self._restore(state)
                live = common_prefix(llm.input_ids[: llm.n_tokens], prompt)
        keep = fixed if live >= fixed else 0
        if keep < llm.n_tokens and not llm._ctx.kv_cache_seq_rm(-1, keep, -1):
            keep = 0
        llm.n_tokens = keep
        if keep < fixed:
            llm.eval(prompt[:fixed])
        llm.eval(prompt[max(keep, fixed):])

    def _snapshot(self) -> Any:
        """``Llama.save_state`` without its copy of the logits (n_batch x vocabulary floats, never read here)."""
        import ctypes

        import llama_cpp
        import numpy as np
        from llama_cpp.llama import LlamaState

        llm = self.llm
        size = llama_cpp.llama_state_get_size(llm.ctx)
        buffer = (ctypes.c_uint8 * size)()
        n_bytes = llama_cpp.llama_state_get_data(llm.ctx, buffer, size)
        if n_bytes > size:
            raise RuntimeError("Failed to copy llama state data")
        return LlamaState(input_ids=llm.input_ids.copy(), scores=np.zeros((1, llm.n_vocab()), dtype=np.single),
                          n_tokens=llm.n_tokens, llama_state=ctypes.string_at(buffer, n_bytes),
                          llama_state_size=n_bytes, seed=llm._seed)

    def _restore(self, state: Any) -> None:
        """``Llama.load_state`` without writing the state's logits row into every row of the logits array."""
        import ctypes

        import llama_cpp

        llm = self.llm
        data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
        if llama_cpp.llama_state_set_data(llm.ctx, data, state.llama_state_size) != state.llama_state_size:
            raise RuntimeError("Failed to set llama state data")
        llm.input_ids = state.input_ids.copy()
        llm.n_tokens = state.n_tokens
        llm._requires_eval = True
        llm.set_seed(state.seed)


def common_prefix(held: Any, tokens: Sequence[int]) -> int:
    """How many leading tokens the array ``held`` and ``tokens`` share."""
    import numpy as np

    n = min(len(held), len(tokens))
    if n == 0:
        return 0
    differ = np.flatnonzero(np.asarray(held[:n]) != np.asarray(tokens[:n]))
    return int(differ[0]) if differ.size else n


class TextStream:
    """The text of a token stream, released as it becomes final.

    A token may end inside a UTF-8 character (its bytes wait for the next
    token's) or with the start of a stop string (held until the following
    text tells); a stop string ends the stream and is not part of the text.
    Undecodable bytes are dropped, as llama-cpp-python does.
    """

    def __init__(self, token_bytes: Callable[[int], bytes], stops: Sequence[str] = ()) -> None:
        import codecs

        self.token_bytes = token_bytes
        self.stops = [s for s in stops if s]
        self.stopped = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        self._held = ""

    def push(self, token: int) -> str:
        """The text that ``token`` makes final."""
        if self.stopped:
            return ""
        return self._release(self._held + self._decoder.decode(self.token_bytes(token)))

    def finish(self) -> str:
        """What is still held once the stream has ended."""
        if self.stopped:
            return ""
        text = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        cut = self._first_stop(text)
        return text if cut is None else text[:cut]

    def _first_stop(self, text: str) -> int | None:
        found = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        return min(found) if found else None

    def _release(self, text: str) -> str:
        cut = self._first_stop(text)
        if cut is not None:
            self.stopped = True
            self._held = ""
            return text[:cut]
        hold = max((n for s in self.stops for n in range(min(len(s) - 1, len(text)), 0, -1)
                    if text.endswith(s[:n])), default=0)
        self._held = text[len(text) - hold:] if hold else ""
        return text[: len(text) - hold]


PREFIX_TOKENS = 48


class PrefixSlots:
    """Which cached KV states to keep: the newest one per prompt prefix, at most ``slots`` prefixes.

    llama-cpp-python saves a state after every completion, keyed by its whole
    prompt, and its RAM cache bounds them by KV bytes only while each state
    also holds a copy of the logits: in a 50-question eval the process grew
    past 20 GB. Any state that starts with the same system prompt serves the
    next prompt equally well, so one per prefix is enough. Of the logits only
    the last row is kept (hundreds of MB per state otherwise); loading a
    state broadcasts it, and only the last row is ever read.
    """

    def __init__(self, slots: int = 4, prefix_tokens: int = PREFIX_TOKENS) -> None:
        self.slots = slots
        self.prefix_tokens = prefix_tokens

    def evict(self, keys: list[tuple[int, ...]], new: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Keys (oldest first) to drop now that ``new`` is stored."""
        head = new[: self.prefix_tokens]
        drop = [k for k in keys if k != new and k[: self.prefix_tokens] == head]
        rest = [k for k in keys if k not in drop]
        return drop + rest[: max(0, len(rest) - self.slots)]


def prefix_cache(base: type, slots: int) -> Any:
    """A ``LlamaRAMCache`` subclass instance that evicts by ``PrefixSlots`` instead of by byte count."""
    policy = PrefixSlots(slots)

    class PrefixCache(base):  # type: ignore[valid-type, misc]
        def __setitem__(self, key: Sequence[int], value: Any) -> None:
            key = tuple(key)
            if getattr(value, "scores", None) is not None and len(value.scores) > 1:
                value.scores = value.scores[-1:].copy()
            self.cache_state.pop(key, None)
            self.cache_state[key] = value
            for old in policy.evict(list(self.cache_state), key):
                del self.cache_state[old]

    return PrefixCache(capacity_bytes=1 << 40)
