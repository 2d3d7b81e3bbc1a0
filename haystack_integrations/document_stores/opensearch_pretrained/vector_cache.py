"""A memory-mapped copy of the store's vectors, so a dense search reads one flat float32 file, not a million rows.

SQLite stays the truth (each vector is a BLOB in its document's row, written in the same transaction). Fetching
a million BLOBs through Python costs seconds, so searches use this derived copy: two files beside the database,
``-vectors`` (a header and the float32 vectors) and ``-vector-keys`` (each vector's row key and squared norm).

The header records which state of the database the copy holds: the store's id, its write generation, its count of
vector rewrites (updates and deletes, counted by triggers whoever writes) and the last row key copied. Writes that
only add rows (the common case: indexing, resuming) are *appended*: the new rows go past the copy's end, are
synced, and only then does the header, rewritten in place, claim them, so a ``kill -9`` at any point leaves a copy
whose header describes synced data. Anything else (a rewrite, another store, a damaged file) rebuilds the copy into
temporary files renamed into place; both headers carry the same random build id, so a reader that sees one new
and one old file notices. Every change to the copy happens under the database's write lock, so two processes
never change it at once, and what is copied cannot change while it is copied.
"""

from __future__ import annotations

import glob
import os
import secrets
import sqlite3
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

_MAGIC = b"OSPVEC02"
_KEYS_MAGIC = b"OSPKEY02"
# magic, build id, store id, generation, rewrites, count, last key, dimension
_HEADER = struct.Struct("<8s16s16sqqqqq")
_KEYS_HEADER = struct.Struct("<8s16s")  # magic, build id
_KEY_RECORD = np.dtype([("key", "<i8"), ("squared_norm", "<f8")])
_ROWS_PER_FETCH = 4096


@dataclass(frozen=True)
class StoreState:
    """What a copy must match to stand for the database: read in the transaction that uses the copy."""

    store_id: bytes
    generation: int
    rewrites: int


@dataclass(frozen=True)
class VectorCache:
    """The mapped arrays of one state of the store."""

    state: StoreState
    vectors: npt.NDArray[np.float32]  # (count, dimension), memory-mapped
    squared_norms: npt.NDArray[np.float64]  # (count,)
    keys: npt.NDArray[np.int64]  # (count,) document row keys, ascending


@dataclass(frozen=True)
class _Header:
    build_id: bytes
    state: StoreState
    count: int
    last_key: int


def cache_paths(database: Path) -> tuple[Path, Path]:
    """The two files of the copy: vectors, and keys with squared norms."""
    return database.with_name(database.name + "-vectors"), database.with_name(database.name + "-vector-keys")


def open_current(
    database: Path, connection: sqlite3.Connection, state: StoreState, dimension: int
) -> VectorCache | None:
    """The copy if it holds exactly ``state`` (no lock needed: the copy only changes under the write lock, and a
    header is only ever written after the data it describes)."""
    loaded = _load(database, dimension)
    if loaded is None or loaded[0].state != state or not _tail_matches(connection, loaded[1]):
        return None
    return loaded[1]


def refresh(
    database: Path, connection: sqlite3.Connection, state: StoreState, dimension: int, *, rebuild: bool
) -> VectorCache | None:
    """Bring the copy to ``state``, with ``connection`` holding the write lock: append the rows written since, when
    nothing else changed; otherwise rebuild it (or, without ``rebuild``, leave that to the next search)."""
    loaded = _load(database, dimension)
    if loaded is not None and not _tail_matches(connection, loaded[1]):
        loaded = None  # the database lost writes the copy holds (a power loss can): the copy is of another past
    if loaded is not None and loaded[0].state == state:
        return loaded[1]
    header = None if loaded is None else loaded[0]
    appendable = (
        header is not None
        and header.state.store_id == state.store_id
        and header.state.rewrites == state.rewrites
        and header.state.generation < state.generation
    )
    if appendable:
        assert header is not None
        _append(database, connection, header, state, dimension)
    elif rebuild or header is None:
        _build(database, connection, state, dimension)
    else:
        return None
    loaded = _load(database, dimension)
    assert loaded is not None and loaded[0].state == state, "a copy just written under the write lock must load"
    return loaded[1]


def _load(database: Path, dimension: int) -> tuple[_Header, VectorCache] | None:
    """The copy's header and arrays, if both files belong to one build and are long enough for it. Both are mapped
    from the files whose headers were read, so a rebuild renamed into place meanwhile cannot mix two builds."""
    vectors_path, keys_path = cache_paths(database)
    try:
        with open(vectors_path, "rb") as vectors, open(keys_path, "rb") as keys:
            fields = _HEADER.unpack(vectors.read(_HEADER.size))
            keys_magic, keys_build = _KEYS_HEADER.unpack(keys.read(_KEYS_HEADER.size))
            magic, build_id, store_id, generation, rewrites, count, last_key, found_dimension = fields
            if (magic, keys_magic, keys_build, found_dimension) != (_MAGIC, _KEYS_MAGIC, build_id, dimension):
                return None
            sizes = os.fstat(vectors.fileno()).st_size, os.fstat(keys.fileno()).st_size
            if sizes[0] < _vectors_end(count, dimension) or sizes[1] < _keys_end(count):
                return None
            header = _Header(build_id, StoreState(store_id, generation, rewrites), count, last_key)
            return header, _map(vectors, keys, header, dimension)
    except (OSError, struct.error):
        return None


def _tail_matches(connection: sqlite3.Connection, cache: VectorCache) -> bool:
    """Whether the copy's last vector is still the database's vector at that key: one row read, which catches a
    database that went back to an earlier state (generations are then reached again with other rows)."""
    if len(cache.keys) == 0:
        return True
    row = connection.execute("SELECT embedding FROM documents WHERE pk = ?", (int(cache.keys[-1]),)).fetchone()
    return row is not None and row[0] == cache.vectors[-1].tobytes()


def _vectors_end(count: int, dimension: int) -> int:
    return _HEADER.size + count * dimension * 4


def _keys_end(count: int) -> int:
    return _KEYS_HEADER.size + count * _KEY_RECORD.itemsize


def _map(vectors: BinaryIO, keys: BinaryIO, header: _Header, dimension: int) -> VectorCache:
    if header.count == 0:
        return VectorCache(
            header.state, np.empty((0, dimension), np.float32), np.empty(0, np.float64), np.empty(0, np.int64)
        )
    mapped = np.memmap(vectors, np.float32, "r", offset=_HEADER.size, shape=(header.count, dimension))
    records = np.memmap(keys, _KEY_RECORD, "r", offset=_KEYS_HEADER.size, shape=(header.count,))
    return VectorCache(header.state, mapped, records["squared_norm"], records["key"])


def _copy_rows(
    connection: sqlite3.Connection, after_key: int, dimension: int, vectors: BinaryIO, keys: BinaryIO
) -> tuple[int, int]:
    """Stream the vectors of rows past ``after_key`` into the two open files; returns (rows, last key)."""
    cursor = connection.execute(
        "SELECT pk, embedding FROM documents WHERE pk > ? AND embedding IS NOT NULL ORDER BY pk", (after_key,)
    )
    copied, last_key = 0, after_key
    while rows := cursor.fetchmany(_ROWS_PER_FETCH):
        block = np.frombuffer(b"".join(row[1] for row in rows), np.float32).reshape(len(rows), dimension)
        records = np.empty(len(rows), _KEY_RECORD)
        records["key"] = [row[0] for row in rows]
        records["squared_norm"] = np.einsum("ij,ij->i", block, block, dtype=np.float64)
        vectors.write(block.tobytes())
        keys.write(records.tobytes())
        copied, last_key = copied + len(rows), int(rows[-1][0])
    return copied, last_key


def _append(database: Path, connection: sqlite3.Connection, header: _Header, state: StoreState, dimension: int) -> None:
    """Write the new rows past the copy's end (cutting off what an interrupted append left there), sync, and only
    then rewrite the header to claim them. Readers map no further than the header they read, so none is disturbed."""
    vectors_path, keys_path = cache_paths(database)
    with open(vectors_path, "r+b") as vectors, open(keys_path, "r+b") as keys:
        vectors.truncate(_vectors_end(header.count, dimension))
        keys.truncate(_keys_end(header.count))
        vectors.seek(0, os.SEEK_END)
        keys.seek(0, os.SEEK_END)
        copied, last_key = _copy_rows(connection, header.last_key, dimension, vectors, keys)
        for file in (vectors, keys):
            file.flush()
            os.fsync(file.fileno())
        appended = _Header(header.build_id, state, header.count + copied, last_key)
        vectors.seek(0)
        vectors.write(_pack(appended, dimension))
        vectors.flush()
        os.fsync(vectors.fileno())


def _build(database: Path, connection: sqlite3.Connection, state: StoreState, dimension: int) -> None:
    """Copy every vector into new files and rename them into place (keys first; the build id pairs them)."""
    build_id = secrets.token_bytes(16)
    targets = cache_paths(database)
    for target in targets:  # what a killed build left: no other build runs, as builds hold the write lock
        for leftover in target.parent.glob(glob.escape(target.name) + ".*.tmp"):
            leftover.unlink(missing_ok=True)
    temporaries = [_temporary(target) for target in targets]
    try:
        with open(temporaries[0], "wb") as vectors, open(temporaries[1], "wb") as keys:
            vectors.write(_pack(_Header(build_id, state, 0, 0), dimension))
            keys.write(_KEYS_HEADER.pack(_KEYS_MAGIC, build_id))
            copied, last_key = _copy_rows(connection, -(2**63), dimension, vectors, keys)
            header = _Header(build_id, state, copied, last_key)
            vectors.seek(0)
            vectors.write(_pack(header, dimension))
            for file in (vectors, keys):
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporaries[1], targets[1])
        os.replace(temporaries[0], targets[0])
    except BaseException:
        for temporary in temporaries:
            Path(temporary).unlink(missing_ok=True)
        raise


def _temporary(target: Path) -> str:
    handle, name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(handle)
    return name


def _pack(header: _Header, dimension: int) -> bytes:
    state = header.state
    return _HEADER.pack(
        _MAGIC, header.build_id, state.store_id, state.generation, state.rewrites, header.count, header.last_key,
        dimension,
    )  # fmt: skip
