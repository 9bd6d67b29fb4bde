"""Rows of a 2-D .npy file read with positioned reads (``os.preadv``) when asked for, never mapped.

Sentence vectors are read a few rows at a time (the sentences of a question's candidate
passages), so a map of the whole file buys nothing, and it costs resident memory: pages of a
mapped file count in the process's RSS once touched, and on this kernel a fault maps a whole
large folio of cached pages (MADV_RANDOM notwithstanding). At 100,000 synthetic articles
1,000 random sentence rows mapped 1.09 GB of ``sentences.npy``, and the bench's index process
reached 3.94 GB RSS, 2.83 GB of it that file's pages
(docs/results/2026-11-30-session18/archive-bench/). Read so, the rows go through the
page cache into a small array the caller owns; the file's pages stay the page cache's and never
count in RSS. Rows are fixed-size records after the header, so a run of consecutive rows is one
read.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexError_, printable

_HEADER_LOCK = threading.Lock()
"""``np.lib.format`` parses a .npy header with ``ast.literal_eval``, which CPython 3.11 can fail with
"AST constructor recursion depth mismatch" when two threads do it at once (a reader loading while
a writer opens its new segment did, in tests/test_reliability_store.py)."""


class RowFile:
    """A read-only view of a C-ordered 2-D .npy file: ``len``, ``shape``, ``dtype``, and indexing by
    an int, a slice, an int array or list, or a boolean mask, each returning a new array. The file
    descriptor stays open until ``close`` or until the object is collected, so a segment stays
    readable after a writer unlinked its files."""

    def __init__(self, path: Path) -> None:
        """Open ``path``; ``ValueError`` when it is not a 2-D C-ordered .npy file of the size its header says."""
        self.path = path
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            shape, dtype, offset = _header(fd)
            size = os.fstat(fd).st_size
            want = offset + shape[0] * shape[1] * dtype.itemsize
            if size != want:
                raise ValueError(f"{path.name} has {size} bytes, its header {shape} of {dtype} wants {want}")
        except BaseException:
            os.close(fd)
            raise
        self.shape: tuple[int, int] = shape
        self.dtype = dtype
        self.ndim = 2
        self.offset = offset
        self.row_bytes = shape[1] * dtype.itemsize
        self._fd = fd
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, os.close, fd)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return self.read(start, stop)
            return self.take(np.arange(start, stop, step, dtype=np.int64))
        ids = np.asarray(key)
        if ids.size == 0 and ids.dtype != bool:
            ids = ids.astype(np.int64)  # [] is float64 to numpy
        if ids.dtype == bool:
            if ids.shape != (len(self),):
                raise IndexError(f"a mask of shape {ids.shape} for {len(self)} rows")
            return self.take(np.flatnonzero(ids))
        if ids.dtype.kind not in "iu":
            raise IndexError(f"rows are indexed by integers, slices or a mask, not {ids.dtype}")
        if ids.ndim == 0:
            return self.take(ids.reshape(1))[0]
        return self.take(ids.reshape(-1)).reshape(*ids.shape, self.shape[1])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def take(self, ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` in their order (repeats allowed); one read per run of consecutive ids, straight
        into the result with ``preadv``: 120 runs of 3-5 rows from a cached file take 0.25 ms, as from
        a warm map; reading each run as a ``bytes`` with ``os.pread`` and copying it took 3.0 ms. A
        search at 20,000 articles reads about 200 runs (docs/results/2026-12-01-session19/rss-pread/)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        ids = np.where(ids < 0, ids + len(self), ids)
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(f"row out of range 0..{len(self) - 1}")
        out = np.empty((len(ids), self.shape[1]), self.dtype)
        if len(ids):
            breaks = (np.flatnonzero(np.diff(ids) != 1) + 1).tolist()
            starts = [0, *breaks]
            self._read_runs(out, zip(starts, [*breaks, len(ids)], ids[starts].tolist(), strict=True))
        return out

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` (within bounds), in one read."""
        out = np.empty((max(stop - start, 0), self.shape[1]), self.dtype)
        if stop > start:
            self._read_runs(out, [(0, stop - start, start)])
        return out

    def _read_runs(self, out: np.ndarray, runs: Iterable[tuple[int, int, int]]) -> None:
        """Read file rows ``first, first + 1, ...`` into ``out[a:b]`` for each ``(a, b, first)``."""
        buf = out.reshape(-1).view(np.uint8).data
        size = self.row_bytes
        with self._lock:  # so close() cannot free the descriptor for another file during a read
            if self._fd < 0:
                raise ValueError(f"{self.path.name} is closed")
            try:
                for a, b, first in runs:
                    at, stop, shift = a * size, b * size, self.offset + (first - a) * size
                    while at < stop:
                        got = os.preadv(self._fd, [buf[at:stop]], shift + at)
                        if got <= 0:
                            raise OSError(f"rows {first}..{first + b - a - 1} end at byte {shift + at}")
                        at += got
            except OSError as exc:
                raise IndexError_(f"index file {printable(self.path)} is corrupt ({printable(exc)}); "
                                  "run `rag ingest --rebuild`") from None

    def close(self) -> None:
        with self._lock:
            self._fd = -1
            self._finalizer()


def _header(fd: int) -> tuple[tuple[int, int], np.dtype[Any], int]:
    with _HEADER_LOCK, os.fdopen(os.dup(fd), "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f".npy version {version}")
        offset = f.tell()
    if len(shape) != 2 or fortran or dtype.hasobject:
        raise ValueError(f"not a C-ordered 2-D matrix: shape {shape}, fortran order {fortran}, {dtype}")
    return (int(shape[0]), int(shape[1])), dtype, offset
