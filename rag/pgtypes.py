"""pgvector's ``halfvec`` on the wire, in binary, for psycopg: numpy float16 in, numpy float16 out.

The text form (``'[0.1,0.2,...]'``) costs a float formatting and parsing per component, which
dominates a bulk load of sentence vectors; the binary form is pgvector's ``halfvec_send``
layout: dimension and a reserved word (int16 each), then IEEE half floats, all big-endian.
Registering these here spares a dependency on the ``pgvector`` package for two small adapters.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

_HEADER = struct.Struct(">hh")


def encode(vector: np.ndarray) -> bytes:
    values = np.asarray(vector, dtype=np.float16).reshape(-1)
    return _HEADER.pack(len(values), 0) + values.astype(">f2").tobytes()


def decode(data: bytes | bytearray | memoryview) -> np.ndarray:
    raw = bytes(data)
    dim, _ = _HEADER.unpack_from(raw)
    return np.frombuffer(raw, dtype=">f2", count=dim, offset=_HEADER.size).astype(np.float16)


def register(connection: Any) -> int:
    """Teach ``connection`` to send numpy vectors as ``halfvec`` and read ``halfvec`` back; return its oid."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    info = TypeInfo.fetch(connection, "halfvec")
    if info is None:
        raise LookupError("the vector extension (pgvector) is not installed in this database")
    oid = info.oid

    class HalfvecDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            return encode(obj)

    HalfvecDumper.oid = oid

    class HalfvecLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> np.ndarray:
            return decode(data)

    info.register(connection)
    connection.adapters.register_dumper(np.ndarray, HalfvecDumper)
    connection.adapters.register_dumper(None, HalfvecDumper)
    connection.adapters.register_loader(oid, HalfvecLoader)
    return oid
