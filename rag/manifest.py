"""What one index generation is: its settings, its segments and what was removed from them.

A generation's ``manifest.json`` is the only file a write creates besides the segments it adds,
so it is small: per segment its name, its row counts, the articles removed from it since it was
written, and the size and checksums of its files.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

FORMAT_VERSION = 2
CHECK_BYTES = 1 << 18
"""Bytes at each end of a file whose checksum a load compares (all of a file up to twice this)."""


@dataclass(frozen=True)
class Manifest:
    embedder: str
    dimension: int
    chunk_chars: int
    documents: int
    passages: int
    sentences: int
    created: float
    versions: dict[str, str]
    format: int = FORMAT_VERSION
    chunker: str = ""

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Manifest:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})  # type: ignore[arg-type]

    def same_kind(self, other: Manifest) -> bool:
        """Whether passages of ``other``'s index can sit beside this one's: same embedder and chunking."""
        return ((self.embedder, self.dimension, self.chunk_chars, self.chunker)
                == (other.embedder, other.dimension, other.chunk_chars, other.chunker))


@dataclass(frozen=True)
class FileCheck:
    """A file's size, the CRC-32 of all of it, and the CRC-32s of its first and last ``CHECK_BYTES``.

    The whole-file CRC is computed when the file is written and compared by ``Store.verify``
    (``rag verify``) and before a segment is merged; a load compares the size and both ends
    only. Checking all of every file at each start means reading the whole index from disk:
    CRC-32 itself is fast (1.1 GB, a 20k-article index, in 0.26 s here with the files cached),
    but on a cold start every byte comes from disk (about 5.7 GB at 100k articles, 57 KB an
    article) and passes through the page cache that memory-mapping is there to spare.
    Truncation, a file cut short and rewritten, a garbage header (where SQLite, FAISS and numpy
    keep their structure) or a wrong file are caught at load; damage in the middle of a large
    file is caught by ``rag verify``, or by SQLite when it reads that page.
    """

    size: int
    crc32: int
    head: int
    tail: int

    @classmethod
    def of(cls, path: Path) -> FileCheck:
        size = path.stat().st_size
        crc = 0
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                crc = zlib.crc32(block, crc)
        head, tail = _ends(path, size)
        return cls(size, crc, head, tail)

    def problem(self, path: Path, full: bool = False) -> str | None:
        """What is wrong with ``path`` against this check (``full``: every byte), or None."""
        try:
            size = path.stat().st_size
            if size != self.size:
                return f"{path.name} has {size} bytes, not {self.size}"
            if full and FileCheck.of(path).crc32 != self.crc32:
                return f"{path.name} does not match the checksum in the manifest"
            if (self.head, self.tail) != _ends(path, size):
                return f"{path.name} does not match the checksum in the manifest"
        except OSError as exc:
            return f"{path.name}: {exc.strerror or exc}"
        return None


def _ends(path: Path, size: int) -> tuple[int, int]:
    with path.open("rb") as f:
        head = zlib.crc32(f.read(CHECK_BYTES))
        f.seek(max(0, size - CHECK_BYTES))
        tail = zlib.crc32(f.read(CHECK_BYTES))
    return head, tail


@dataclass(frozen=True)
class SegmentRef:
    """A segment as one generation sees it: its rows, and the articles removed from it since."""

    name: str
    documents: int
    passages: int
    sentences: int
    files: dict[str, FileCheck]
    removed: frozenset[str] = field(default_factory=frozenset)

    def without(self, doc_ids: set[str]) -> SegmentRef:
        return replace(self, removed=self.removed | doc_ids)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "documents": self.documents, "passages": self.passages,
                "sentences": self.sentences, "removed": sorted(self.removed),
                "files": {name: c.__dict__ for name, c in sorted(self.files.items())}}

    @classmethod
    def from_json(cls, data: object) -> SegmentRef:
        if not isinstance(data, dict):
            raise ValueError("a segment entry is not an object")
        files = data["files"]
        removed = data.get("removed", [])
        if not isinstance(files, dict) or not isinstance(removed, list):
            raise ValueError("a segment entry has no file list")
        checks = {}
        for name, c in files.items():
            if not isinstance(c, dict):
                raise ValueError(f"the check of {name} is not an object")
            checks[name] = FileCheck(**{k: _int(c[k], k) for k in ("size", "crc32", "head", "tail")})
        ref = cls(name=_str(data["name"]), documents=_int(data["documents"], "documents"),
                  passages=_int(data["passages"], "passages"), sentences=_int(data["sentences"], "sentences"),
                  files=checks, removed=frozenset(_str(d) for d in removed))
        if "/" in ref.name or ref.name.startswith("."):
            raise ValueError(f"segment name {ref.name!r}")
        return ref


def _int(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"field {name} is {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def check_types(m: Manifest) -> None:
    for name, kind in (("embedder", str), ("dimension", int), ("chunk_chars", int), ("documents", int),
                       ("passages", int), ("sentences", int), ("created", (int, float)), ("versions", dict),
                       ("format", int), ("chunker", str)):
        if not isinstance(getattr(m, name), kind) or isinstance(getattr(m, name), bool):
            raise ValueError(f"field {name} is {getattr(m, name)!r}")


def read(path: Path) -> tuple[Manifest, tuple[SegmentRef, ...]]:
    """The manifest at ``path`` and its segments; ``ValueError`` or ``OSError`` if unreadable.

    A manifest of another format is returned without segments (the caller reports the format)."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not an object")
    manifest = Manifest.from_json(data)
    check_types(manifest)
    if manifest.format != FORMAT_VERSION:
        return manifest, ()
    segments = data.get("segments")
    if not isinstance(segments, list):
        raise ValueError("no segment list")
    return manifest, tuple(SegmentRef.from_json(s) for s in segments)


def dump(manifest: Manifest, segments: tuple[SegmentRef, ...]) -> str:
    return json.dumps({**manifest.to_json(), "segments": [s.to_json() for s in segments]}, indent=2)
