"""Lexical search: Okapi BM25 over postings kept in SQLite FTS5, one FTS5 table per index segment.

Before, BM25 was rebuilt in memory from every passage at each start and after each change;
tokenizing is the slow part (0.64 s CPU for the 6,696 passages of the 1,028-article archive, so
about a minute at 100k articles). Now each segment stores, at write time, an FTS5 table whose
row for a passage holds the passage's search tokens (``rag.textnorm.tokens`` of its text and its
document's title: today's folding, in that one place) as ``term^count`` words, so nothing is
tokenized at start and a new segment only indexes its own passages.

The scores are computed here from those postings, with the formula and the float32 arithmetic
of the in-memory BM25 this replaced (k1 1.2, b 0.75), so rankings are the same. FTS5's own
``bm25()`` is not used because (1) its IDF is ``log((N - n + 0.5) / (n + 0.5))`` floored at 1e-6,
which gives a term in more than half of the passages no weight where ours, ``log(1 + ...)``, still
counts it; (2) its statistics are those of one table, while N, the average length and the
document frequencies here span every segment and skip removed articles; (3) reading rowids is
faster than having ``bm25()`` evaluated per row (0.28 against about 2 microseconds per posting,
measured on 100k synthetic passages). The table is ``detail=none`` and contentless: it stores
rowids only, and the term counts travel in the words.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.textnorm import tokens

K1 = 1.2
B = 0.75
CACHED_POSTINGS = 2_000_000
"""Postings kept in memory between queries (12 bytes each): frequent terms recur across questions."""

SCHEMA = """
CREATE VIRTUAL TABLE lexical USING fts5(terms, content='', columnsize=0, detail=none,
    tokenize="ascii tokenchars '._^'");
CREATE VIRTUAL TABLE lexical_vocab USING fts5vocab(lexical, 'row');
"""
_PLAIN = re.compile(r"[a-z0-9.]")


def passage_terms(text: str, title: str) -> list[str]:
    """The search tokens of a passage: its own words and its document's title."""
    return tokens(text + " " + title)


def _encode(term: str) -> str:
    """``term`` as one word of the FTS5 ``ascii`` tokenizer, unchanged by it: that tokenizer keeps
    every non-ASCII character, ``.``, ``_`` and ``^`` and folds ASCII case, so any other ASCII
    character (a space in "1234 567", or an uppercase letter NFKD makes of a symbol) is written
    ``_`` plus its hex code."""
    return "".join(c if c >= "\x80" or _PLAIN.match(c) else f"_{ord(c):02x}" for c in term)


def fts_row(terms: Iterable[str]) -> str:
    """The FTS5 text of one passage: each distinct term once, with its count."""
    return " ".join(f"{_encode(t)}^{n}" for t, n in Counter(terms).items())


def write_rows(con: sqlite3.Connection, rows: Iterable[tuple[int, Sequence[str]]]) -> None:
    """Index passages (row number, terms) in a segment being written."""
    con.executemany("INSERT INTO lexical(rowid, terms) VALUES (?, ?)", ((row, fts_row(t)) for row, t in rows))


def finish(con: sqlite3.Connection) -> None:
    """Merge FTS5's b-trees into one, the smallest and quickest to read, once all rows are in."""
    con.execute("INSERT INTO lexical(lexical) VALUES ('optimize')")


class SegmentPostings:
    """The postings of one segment's FTS5 table, by its local passage rows; ``rows`` runs a query."""

    def __init__(self, rows: Callable[[str, tuple[object, ...]], list[tuple[Any, ...]]]) -> None:
        self.rows = rows

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Local passage rows holding ``term`` and its count in each, rows ascending."""
        word = _encode(term)
        rows: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for (bucket,) in self.rows("SELECT term FROM lexical_vocab WHERE term >= ? AND term < ?",
                                   (word + "^", word + "_")):
            found = self.rows("SELECT rowid FROM lexical WHERE lexical MATCH ?", (f'"{bucket}"',))
            rows.append(np.array(found, dtype=np.int64).reshape(-1))
            counts.append(np.full(len(found), float(bucket.rsplit("^", 1)[1]), np.float32))
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids, tf = np.concatenate(rows), np.concatenate(counts)
        order = np.argsort(ids, kind="stable")
        return ids[order], tf[order]


@dataclass(frozen=True)
class LexicalPart:
    """A segment's postings and where its live passages sit in the snapshot (-1: removed)."""

    source: SegmentPostings
    dense_of_row: np.ndarray


class Lexical:
    """BM25 over the live passages of every segment, numbered as the snapshot numbers them.

    ``lengths`` holds each passage's number of search tokens. Postings of recent terms stay
    cached (``CACHED_POSTINGS``); the object is read-only otherwise and safe to share between threads.
    """

    def __init__(self, parts: Sequence[LexicalPart], lengths: np.ndarray, k1: float = K1, b: float = B) -> None:
        self.parts = tuple(parts)
        self.k1, self.b = k1, b
        self.lengths = np.asarray(lengths, dtype=np.float32)
        self.n = len(self.lengths)
        self.avg = float(self.lengths.mean()) if self.n else 0.0
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Snapshot passage ids holding ``term`` (ascending) and its count in each."""
        with self._lock:
            hit = self._cache.get(term)
            if hit is not None:
                self._cache.move_to_end(term)
                return hit
        ids: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        for part in self.parts:
            rows, tf = part.source.postings(term)
            dense = part.dense_of_row[rows]
            live = dense >= 0
            ids.append(dense[live])
            tfs.append(tf[live])
        found = ((np.concatenate(ids), np.concatenate(tfs)) if ids
                 else (np.zeros(0, np.int64), np.zeros(0, np.float32)))
        with self._lock:
            if term not in self._cache:
                self._cache[term] = found
                self._cached += len(found[0])
            while self._cached > CACHED_POSTINGS and len(self._cache) > 1:
                _, (old, _) = self._cache.popitem(last=False)
                self._cached -= len(old)
        return found

    def known(self, term: str) -> bool:
        return len(self.postings(term)[0]) > 0

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 of every passage for the query terms (each counted once), as float32."""
        out = np.zeros(self.n, dtype=np.float32)
        for term in set(query):
            ids, tf = self.postings(term)
            if not len(ids):
                continue
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[ids] / (self.avg or 1.0))
            out[ids] += idf * tf * (self.k1 + 1) / norm
        return out
