"""``RowFile``: rows read with pread equal the memory-mapped rows, and damage is the usual one-line error."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexError_
from rag.rowfile import RowFile


@pytest.fixture
def matrix(tmp_path: Path) -> Path:
    path = tmp_path / "sentences.npy"
    np.save(path, np.random.default_rng(3).standard_normal((1000, 24)).astype(np.float16))
    return path


def test_rows_equal_the_mapped_rows(matrix: Path) -> None:
    mapped = np.load(matrix, mmap_mode="r")
    rows = RowFile(matrix)
    assert (len(rows), rows.shape, rows.dtype, rows.ndim) == (1000, (1000, 24), np.float16, 2)
    rng = np.random.default_rng(0)
    for size in (1, 7, 100, 1000, 3000):
        ids = rng.integers(0, 1000, size)  # unsorted, with repeats
        np.testing.assert_array_equal(rows[ids], mapped[ids])
        np.testing.assert_array_equal(rows[ids.tolist()], mapped[ids])
    np.testing.assert_array_equal(rows[np.array([[5, 3], [999, -1]])], mapped[np.array([[5, 3], [999, -1]])])
    np.testing.assert_array_equal(rows[17], mapped[17])
    np.testing.assert_array_equal(rows[-1], mapped[-1])
    mask = rng.random(1000) < 0.1
    np.testing.assert_array_equal(rows[mask], mapped[mask])
    np.testing.assert_array_equal(np.asarray(rows), mapped)
    assert np.asarray(rows, dtype=np.float32).dtype == np.float32


def test_consecutive_runs_are_one_read_each(matrix: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mapped = np.load(matrix, mmap_mode="r")
    rows = RowFile(matrix)
    reads: list[int] = []
    real = os.preadv

    def preadv(fd: int, buffers: list[memoryview], at: int) -> int:
        reads.append(sum(len(b) for b in buffers))
        return real(fd, buffers, at)

    monkeypatch.setattr(os, "preadv", preadv)
    ids = np.r_[40:44, 500:510, 7, 41, 990:1000]
    np.testing.assert_array_equal(rows[ids], mapped[ids])
    assert reads == [48 * n for n in (4, 10, 1, 1, 10)], "runs 40-43, 500-509, 7, 41, 990-999"
    reads.clear()
    for key in (slice(100, 300), slice(None), slice(-10, None), slice(5, 900, 7), slice(900, 5, -3)):
        np.testing.assert_array_equal(rows[key], mapped[key])
    assert reads[:3] == [200 * 48, 1000 * 48, 10 * 48]
    np.testing.assert_array_equal(rows.read(10, 20), mapped[10:20])


def test_empty_selections(matrix: Path, tmp_path: Path) -> None:
    rows = RowFile(matrix)
    for key in ([], np.zeros(0, np.int64), slice(10, 10), slice(20, 10), np.zeros(1000, bool)):
        got = rows[key]
        assert got.shape == (0, 24) and got.dtype == np.float16
    assert rows.read(5, 5).shape == (0, 24)
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 8), np.float16))
    none = RowFile(empty)
    assert len(none) == 0 and none[:].shape == (0, 8) and np.asarray(none).shape == (0, 8)


def test_out_of_range_and_odd_keys(matrix: Path) -> None:
    rows = RowFile(matrix)
    for key in (1000, -1001, [3, 1000]):
        with pytest.raises(IndexError):
            rows[key]
    with pytest.raises(IndexError):
        rows[np.array([1.5])]
    with pytest.raises(IndexError):
        rows[np.ones(10, bool)]


def test_what_is_not_a_row_file_is_refused(tmp_path: Path) -> None:
    cases = {"short.npy": None, "garbage.npy": b"not a numpy file at all", "one-d.npy": np.zeros(8, np.float16),
             "fortran.npy": np.asfortranarray(np.zeros((4, 8), np.float16))}
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, np.ndarray):
            np.save(path, content)
        else:
            path.write_bytes(content or b"")
        with pytest.raises(ValueError):
            RowFile(path)


def test_a_truncated_file_is_refused_at_open(matrix: Path) -> None:
    os.truncate(matrix, matrix.stat().st_size - 48)
    with pytest.raises(ValueError, match="header"):
        RowFile(matrix)


def test_a_file_cut_short_after_opening_is_the_usual_error(matrix: Path) -> None:
    rows, whole = RowFile(matrix), np.load(matrix)
    np.testing.assert_array_equal(rows[[1, 998]], whole[[1, 998]])
    os.truncate(matrix, matrix.stat().st_size - 48 * 10)
    np.testing.assert_array_equal(rows[:5], whole[:5])
    with pytest.raises(IndexError_) as exc:
        rows[[3, 995]]
    message = str(exc.value)
    assert "\n" not in message and "sentences.npy" in message and "rag ingest --rebuild" in message


def test_a_closed_file_reads_nothing(matrix: Path) -> None:
    rows = RowFile(matrix)
    rows.close()
    rows.close()
    with pytest.raises(ValueError, match="closed"):
        rows[0]
    assert rows[[]].shape == (0, 24), "nothing asked, nothing read"


def test_no_page_of_the_file_is_mapped(matrix: Path) -> None:
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps (Linux)")
    rows = RowFile(matrix)
    _ = rows[np.arange(0, 1000, 3)], rows[:]
    assert str(matrix) not in maps.read_text()
