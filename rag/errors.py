"""Errors a user can act on; the CLI prints them as one line, no traceback.

``printable`` makes any text safe for a terminal: article titles, file names and error
messages come from files nobody vetted, and must not be able to send escape sequences.
"""

from __future__ import annotations

import os
import re


class RagError(Exception):
    """Base class for expected, user-facing failures."""


class ModelMissingError(RagError):
    pass


class ModelError(RagError):
    """A model is present but cannot be prepared or used."""


class IndexError_(RagError):
    """The on-disk index is missing, corrupt or built with another embedder."""


class IndexBusyError(IndexError_):
    """Another writer held the index lock for longer than the lock timeout."""


class InputError(RagError):
    pass


# Whole escape sequences first (CSI incl. the 8-bit \x9b, OSC, DCS/PM/APC strings, two-byte ESC),
# then any control character left: C0 (bar tab and newline, which become spaces), DEL, C1,
# and the Unicode bidi overrides that reorder what a terminal shows.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[\t\n\r]+")


def printable(text: object) -> str:
    """``text`` as one terminal-safe line: escape sequences and control characters removed,
    tabs and line breaks turned into single spaces, undecodable bytes (surrogates) shown as ``\\xNN``."""
    s = _unsurrogate(str(text))
    s = _ESCAPES.sub("", s)
    s = _CONTROLS.sub("", s)
    return _SPACES.sub(" ", s)


def terminal_text(text: object) -> str:
    """``text`` safe for a terminal but still laid out: like ``printable`` (escape sequences and
    control characters removed, undecodable bytes shown) but line breaks and tabs kept, for answers
    and quotes. A sequence split over two streamed pieces cannot form: its ESC is removed from
    the first, and what follows it is plain text."""
    return _CONTROLS.sub("", _ESCAPES.sub("", _unsurrogate(str(text))))


def json_text(dumped: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with the control characters JSON
    leaves raw (DEL, C1 such as the 8-bit CSI, bidi overrides) written as ``\\uXXXX`` escapes:
    the same value, nothing a terminal acts on."""
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def _unsurrogate(s: str) -> str:
    if not any("\ud800" <= ch <= "\udfff" for ch in s):
        return s
    try:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def safe_name(path: object) -> str:
    """A file name fit for a message: as is when it is clean text, else a repr that shows what is
    in it (``b'bad\\xff.txt'`` for a name that is not valid UTF-8, ``'evil\\x1b[31m.txt'`` for one
    with control characters), so nothing undecodable or unprintable reaches a terminal."""
    s = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    if s.isprintable():
        return s
    if any("\udc80" <= ch <= "\udcff" for ch in s):
        try:
            return repr(os.fsencode(s))
        except UnicodeError:
            pass
    return ascii(s) if any("\ud800" <= ch <= "\udfff" for ch in s) else repr(s)
