"""A memory-mapped copy of the store's vectors, so a dense search reads one flat float32 file, not a million rows.

SQLite stays the truth (each vector is a BLOB in its document's row, written in the same transaction). Fetching
a million BLOBs through Python costs seconds, so searches use this copy: a file beside the database holding the
store's write generation, the vectors, their squared norms and their row keys. It is rebuilt whenever its
generation differs from the database's (after any write), written to a temporary file and renamed into place,
so a crash or a second process never leaves a copy that is trusted but wrong.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

_MAGIC = b"OSPVEC01"
_HEADER = struct.Struct("<8sqqq")  # magic, generation, count, dimension
_ROWS_PER_FETCH = 4096
# Vectors scored at a time: 64k x 384 float32 is 96 MiB of the mapped file, whatever the store's size.
BLOCK_ROWS = 65536


@dataclass(frozen=True)
class VectorCache:
    """The mapped arrays of one generation of the store."""

    generation: int
    vectors: npt.NDArray[np.float32]  # (count, dimension), memory-mapped
    squared_norms: npt.NDArray[np.float32]  # (count,)
    keys: npt.NDArray[np.int64]  # (count,) document row keys, ascending


def cache_path(database: Path) -> Path:
    return database.with_name(database.name + "-vectors")


def open_cache(database: Path, connection: sqlite3.Connection, generation: int, dimension: int) -> VectorCache:
    """The cache for ``generation``, rebuilt from ``connection`` (inside its read transaction) if stale."""
    path = cache_path(database)
    cache = _map(path, generation, dimension)
    if cache is None:
        _build(path, connection, generation, dimension)
        cache = _map(path, generation, dimension)
        assert cache is not None, "a freshly built vector cache must map"
    return cache


def _map(path: Path, generation: int, dimension: int) -> VectorCache | None:
    try:
        with open(path, "rb") as file:
            magic, found_generation, count, found_dimension = _HEADER.unpack(file.read(_HEADER.size))
            size = os.fstat(file.fileno()).st_size
    except (OSError, struct.error):
        return None
    expected_size = _HEADER.size + count * (dimension * 4 + 4 + 8)
    if (magic, found_generation, found_dimension, size) != (_MAGIC, generation, dimension, expected_size):
        return None
    if count == 0:
        return VectorCache(
            generation, np.empty((0, dimension), np.float32), np.empty(0, np.float32), np.empty(0, np.int64)
        )
    offset = _HEADER.size
    vectors = np.memmap(path, np.float32, "r", offset=offset, shape=(count, dimension))
    offset += count * dimension * 4
    squared_norms = np.memmap(path, np.float32, "r", offset=offset, shape=(count,))
    offset += count * 4
    keys = np.memmap(path, np.int64, "r", offset=offset, shape=(count,))
    return VectorCache(generation, vectors, squared_norms, keys)


def _build(path: Path, connection: sqlite3.Connection, generation: int, dimension: int) -> None:
    """Stream every vector into a new file; keys and norms (8+4 bytes a vector) are the only thing held."""
    keys: list[int] = []
    norms: list[npt.NDArray[np.float32]] = []
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(_HEADER.pack(_MAGIC, generation, 0, dimension))
            cursor = connection.execute("SELECT pk, embedding FROM documents WHERE embedding IS NOT NULL ORDER BY pk")
            while rows := cursor.fetchmany(_ROWS_PER_FETCH):
                block = np.frombuffer(b"".join(row[1] for row in rows), np.float32).reshape(len(rows), dimension)
                file.write(block.tobytes())
                norms.append(np.einsum("ij,ij->i", block, block, dtype=np.float64).astype(np.float32))
                keys.extend(row[0] for row in rows)
            file.write(np.concatenate(norms).tobytes() if norms else b"")
            file.write(np.asarray(keys, np.int64).tobytes())
            file.seek(0)
            file.write(_HEADER.pack(_MAGIC, generation, len(keys), dimension))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
