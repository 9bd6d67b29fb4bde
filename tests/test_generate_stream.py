"""Decoding a token stream to text: whole UTF-8 characters only, and nothing past a stop string."""

from __future__ import annotations

import numpy as np

from rag.generate import TextStream, common_prefix

PIECES = {1: b"Hello", 2: b" Gr", 3: b"\xc3", 4: b"\xbc", 5: b"\xc3\xbc", 6: b"e", 7: b" <|im", 8: b"_end|>",
          9: b"more", 10: b"<", 11: b"b", 12: b"", 13: b"\xff"}


def run(tokens: list[int], stops: tuple[str, ...] = ("<|im_end|>",)) -> tuple[list[str], TextStream]:
    stream = TextStream(PIECES.__getitem__, stops)
    out = [stream.push(t) for t in tokens]
    out.append(stream.finish())
    return out, stream


def test_a_character_split_across_tokens_waits_for_its_last_byte() -> None:
    out, _ = run([1, 2, 3, 4, 6])
    assert out == ["Hello", " Gr", "", "ü", "e", ""]


def test_stop_string_ends_the_stream_and_is_not_returned() -> None:
    out, stream = run([1, 7, 8, 9])
    assert out == ["Hello", " ", "", "", ""]
    assert stream.stopped


def test_text_that_only_looks_like_a_stop_start_is_released_later() -> None:
    out, stream = run([1, 10, 11])
    assert out == ["Hello", "", "<b", ""]
    assert not stream.stopped


def test_finish_releases_held_text_and_drops_an_unfinished_character() -> None:
    out, _ = run([1, 10, 3])
    assert "".join(out) == "Hello<"


def test_without_stops_every_piece_is_released_at_once_and_bad_bytes_are_dropped() -> None:
    out, _ = run([1, 13, 5, 12, 10], stops=())
    assert out == ["Hello", "", "ü", "", "<", ""]


def test_common_prefix() -> None:
    held = np.array([5, 6, 7, 8], dtype=np.intc)
    assert common_prefix(held, [5, 6, 9]) == 2
    assert common_prefix(held, [5, 6, 7, 8, 9]) == 4
    assert common_prefix(held[:2], [5, 6, 7]) == 2
    assert common_prefix(held[:0], [5]) == 0
    assert common_prefix(held, [1]) == 0
