"""
A file copy of the store's vectors, so a dense search reads one flat float32 file, not a million rows.

SQLite stays the truth (each vector is a BLOB in its document's row, written in the same transaction). Fetching
a million BLOBs through Python costs seconds, so searches use this derived copy: three files beside the database,
``-vectors`` (a header and the float32 vectors), ``-vector-keys`` (each vector's row key and squared norm),
``-vector-sums`` (checksums of the rows, chunk by chunk) and ``-vector-dead`` (the positions of rows deleted or
replaced since the copy was built).

The header records which state of the database the copy holds: the store's id, its write generation, its count of
vector rewrites (updates and deletes, counted by triggers whoever writes) and the last row key copied. Writes that
only add rows (the common case: indexing, resuming) are *appended*: the new rows go past the copy's end, are
synced, and only then does the header, rewritten in place, claim them, so a ``kill -9`` at any point leaves a copy
whose header describes synced data. A delete or a new vector for a stored document, made through this store, is
patched the same way: the old rows' positions are appended to ``-vector-dead`` (searches skip them), a replaced
vector is appended as a new row, and the header claims both; a reader of an older header still sees its own
snapshot. Once a quarter of the rows are dead, or when the store changed in ways the writer did not record (another
program's writes, counted by triggers), or anything else (another store, a damaged file), the copy is rebuilt into
temporary files renamed into place; the headers carry the same random build id, so a reader that sees one new
and one old file notices. Every change to the copy happens under the database's write lock, so two processes
never change it at once, and what is copied cannot change while it is copied.

The copy proves itself: every chunk of ``CHUNK_ROWS`` rows has a 64-bit XXH3 hash of its vectors and one of its
keys and norms (full chunks in ``-vector-sums``, the last, partial chunk in the header), and the header has a hash
of its own fields. A process checks every chunk the first time it maps a copy (in parallel, on the scan's threads),
then only the chunks that appends added, and again in full when the files change under it without a write. A copy
that fails any check is never searched: the search rebuilds it from the SQLite rows. XXH3 rather than CRC-32:
checking 100k 384-dimensional vectors takes 36 ms against zlib's CRC-32's 213 ms on the 2-core dev box.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import sqlite3
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import xxhash
from haystack.document_stores.errors import DocumentStoreError

from haystack_integrations.document_stores.opensearch_pretrained.scan_pool import scan_pool
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError

_MAGIC = b"OSPVEC03"
_KEYS_MAGIC = b"OSPKEY03"
_SUMS_MAGIC = b"OSPSUM03"
_DEAD_MAGIC = b"OSPDEA03"
# magic, build id, store id, generation, rewrites, count, last key, dimension, hashes of the last partial chunk
# (vectors, keys), count and hash of the dead rows' positions; then a hash of all of these
_FIELDS = struct.Struct("<8s16s16sqqqqqQQqQ")
_HEADER_HASH = struct.Struct("<Q")
_HEADER_SIZE = _FIELDS.size + _HEADER_HASH.size
_FILE_HEADER = struct.Struct("<8s16s")  # keys, sums and dead files: magic, build id
_KEY_RECORD = np.dtype([("key", "<i8"), ("squared_norm", "<f8")])
_CHUNK_SUMS = np.dtype([("vectors", "<u8"), ("keys", "<u8")])
# 4096 rows of 384 float32 are 6 MiB: hashes per chunk cost 16 bytes, and chunks are checked in parallel.
CHUNK_ROWS = 4096
_ROWS_PER_FETCH = 4096
# Patching stops, and the next search rebuilds, when this share of the copy's rows is dead (a scan reads them all).
MAX_DEAD_SHARE = 0.25


class VectorCopyError(OpenSearchPretrainedError, DocumentStoreError):
    """The vector copy cannot be written where the store keeps it (a directory or an unwritable path in the way)."""


@dataclass(frozen=True)
class StoreState:
    """What a copy must match to stand for the database: read in the transaction that uses the copy."""

    store_id: bytes
    generation: int
    rewrites: int


@dataclass(frozen=True)
class Changes:
    """
    What one write transaction of this store did to the vectors.

    The state before and after it, and the row keys whose vectors it deleted or replaced (recorded by the connection's
    own triggers).
    """

    before: StoreState
    after: StoreState
    replaced: list[int]


@dataclass(frozen=True)
class _Header:
    build_id: bytes
    state: StoreState
    count: int
    last_key: int
    tail_sums: tuple[int, int]  # hashes of the rows past the last full chunk: vectors, keys
    dead: int = 0  # how many positions ``-vector-dead`` holds
    dead_sum: int = 0  # their hash


@dataclass(frozen=True)
class VectorCache:
    """The mapped arrays of one state of the store, and how far this process has checked them."""

    state: StoreState
    vectors: npt.NDArray[np.float32]  # (count, dimension), memory-mapped
    squared_norms: npt.NDArray[np.float64]  # (count,)
    keys: npt.NDArray[np.int64]  # (count,) document row keys, ascending but for replaced vectors appended again
    dead: npt.NDArray[np.int64]  # sorted positions of rows a search skips (deleted or replaced)
    header: _Header
    records: npt.NDArray[np.void]  # (count,) the key file's records (keys and squared norms), memory-mapped
    chunk_sums: npt.NDArray[np.void]  # (count // CHUNK_ROWS,) the hashes of the full chunks
    files: tuple[tuple[int, int, int], ...]  # (inode, size, mtime) of each file: changed files are checked again
    verified: int = 0  # rows (a prefix, in whole chunks or all) whose checksums this process has checked


_SUFFIXES = ("-vectors", "-vector-keys", "-vector-sums", "-vector-dead")


def cache_paths(database: Path) -> tuple[Path, ...]:
    """The files of the copy: vectors, keys with squared norms, checksums, dead rows."""
    return tuple(database.with_name(database.name + suffix) for suffix in _SUFFIXES)


def unchanged(database: Path, cache: VectorCache) -> bool:
    """Whether the copy's files are still the ones ``cache`` checked (three ``stat`` calls: cheap per search)."""
    return _identities(database) == cache.files and cache.verified == len(cache.keys)


def open_current(
    database: Path, connection: sqlite3.Connection, state: StoreState, dimension: int, previous: VectorCache | None
) -> VectorCache | None:
    """
    The copy if it holds exactly ``state`` and passes its checks.

    No lock is needed: the copy only changes under the write lock, and a header is only ever written after the data it
    describes. Rows ``previous`` checked in the same build are not read again.
    """
    loaded = _load(database, dimension)
    if loaded is None or loaded.state != state or not _tail_matches(connection, loaded):
        return None
    return _verified(loaded, previous)


def refresh(
    database: Path,
    connection: sqlite3.Connection,
    state: StoreState,
    dimension: int,
    *,
    rebuild: bool,
    previous: VectorCache | None = None,
    changes: Changes | None = None,
) -> VectorCache | None:
    """
    Bring the copy to ``state``, with ``connection`` holding the write lock.

    Append the rows written since, when nothing else changed; otherwise rebuild it (or, without ``rebuild``, leave that
    to the next search). With ``rebuild`` (a search waits for it) the copy's checksums are checked first and a damaged
    copy is rebuilt; without it (after a write) the rows it appends are checksummed and checking the rest is left to the
    search. ``changes`` (the write just committed) lets deletes and replaced vectors be patched in rather than rebuilt,
    if nothing else changed the store since the copy's state.
    """
    loaded = _load(database, dimension)
    if loaded is not None and not _tail_matches(connection, loaded, changes.replaced if changes else ()):
        loaded = None  # the database lost writes the copy holds (a power loss can): the copy is of another past
    if loaded is not None:
        loaded = _verified(loaded, previous) if rebuild else replace(loaded, verified=_trusted(loaded, previous))
    if loaded is not None and loaded.state == state:
        return loaded
    appendable = (
        loaded is not None
        and loaded.state.store_id == state.store_id
        and loaded.state.rewrites == state.rewrites
        and loaded.state.generation < state.generation
    )
    replaced: list[int] = []
    if loaded is not None and changes is not None and (loaded.state, state) == (changes.before, changes.after):
        appendable, replaced = True, changes.replaced
    if loaded is not None and appendable and _append(database, connection, loaded, state, dimension, replaced):
        # The appended rows are the database's own: they count as checked when everything before them was.
        whole, prefix = loaded.verified == len(loaded.keys), loaded.verified
    elif rebuild or loaded is None or (appendable and not replaced):  # a damaged last chunk is rebuilt at once
        _build(database, connection, state, dimension)
        whole, prefix = True, 0  # everything just written is the database's rows
    else:
        return None
    fresh = _load(database, dimension)
    assert fresh is not None and fresh.state == state, "a copy just written under the write lock must load"
    return replace(fresh, verified=len(fresh.keys) if whole else prefix)


def _load(database: Path, dimension: int) -> VectorCache | None:
    """
    The copy's header and arrays, if the files belong to one build and their header checks hold.

    The files must be long enough for the build, and the hashes of the header and of the dead positions must hold. All
    are read from the files whose headers were read, so a rebuild renamed into place meanwhile cannot mix two builds.
    The chunks' hashes are not checked here (see ``_verified``).
    """
    vectors_path, keys_path, sums_path, dead_path = cache_paths(database)
    try:
        with (
            open(vectors_path, "rb") as vectors, open(keys_path, "rb") as keys, open(sums_path, "rb") as sums,
            open(dead_path, "rb") as dead,
        ):  # fmt: skip
            header = _unpack(vectors.read(_HEADER_SIZE), dimension)
            if header is None:
                return None
            for file, magic in ((keys, _KEYS_MAGIC), (sums, _SUMS_MAGIC), (dead, _DEAD_MAGIC)):
                if file.read(_FILE_HEADER.size) != _FILE_HEADER.pack(magic, header.build_id):
                    return None
            full_chunks = header.count // CHUNK_ROWS
            chunk_sums = np.frombuffer(sums.read(full_chunks * _CHUNK_SUMS.itemsize), _CHUNK_SUMS)
            dead_bytes = dead.read(header.dead * 8)
            if (
                len(chunk_sums) < full_chunks
                or len(dead_bytes) < header.dead * 8
                or _hash(dead_bytes) != header.dead_sum
            ):
                return None
            sizes = os.fstat(vectors.fileno()).st_size, os.fstat(keys.fileno()).st_size
            if sizes[0] < _vectors_end(header.count, dimension) or sizes[1] < _keys_end(header.count):
                return None
            files = tuple(_identity(os.fstat(file.fileno())) for file in (vectors, keys, sums, dead))
            dead_rows = np.sort(np.frombuffer(dead_bytes, "<i8"))
            return _map(vectors, keys, header, dimension, chunk_sums, dead_rows, files)
    except (OSError, struct.error, ValueError):
        return None


def _verified(cache: VectorCache, previous: VectorCache | None) -> VectorCache | None:
    """
    ``cache`` marked as checked, or None if a chunk's checksums fail.

    Chunks ``previous`` checked in the same build, with the files only appended to since, are trusted; every other chunk
    is read, in parallel.
    """
    start = _trusted(cache, previous) // CHUNK_ROWS * CHUNK_ROWS
    count = len(cache.keys)
    starts = range(start, count, CHUNK_ROWS)

    def chunk_ok(first: int) -> bool:
        rows = slice(first, min(first + CHUNK_ROWS, count))
        found = _hash(cache.vectors[rows].data), _hash(cache.records[rows].data)
        if first + CHUNK_ROWS <= count:
            expected = cache.chunk_sums[first // CHUNK_ROWS]
            return found == (int(expected["vectors"]), int(expected["keys"]))
        return found == cache.header.tail_sums

    checks = map(chunk_ok, starts) if len(starts) <= 1 else scan_pool().map(chunk_ok, starts)
    if not all(list(checks)):
        return None
    return replace(cache, verified=count)


def _trusted(cache: VectorCache, previous: VectorCache | None) -> int:
    """
    How many leading rows of ``cache`` this process checked already, in ``previous``.

    All it checked when the files are the same, the rows it had checked when the copy was only appended to since (a
    write moved the state on within the same build), none when the files changed without a write.
    """
    if previous is None or previous.header.build_id != cache.header.build_id:
        return 0
    if previous.files == cache.files:
        return previous.verified
    return min(previous.verified, len(cache.keys)) if previous.state != cache.state else 0


def _tail_matches(connection: sqlite3.Connection, cache: VectorCache, replaced: Sequence[int] = ()) -> bool:
    """
    Whether the copy's last live vector is still the database's vector at that key.

    One row read, which catches a database that went back to an earlier state (generations are then reached again with
    other rows). Rows of the write being patched in (``replaced``) are passed over.
    """
    skipped = set(replaced)
    last = len(cache.keys) - 1
    while last >= 0 and (_is_dead(cache, last) or int(cache.keys[last]) in skipped):
        last -= 1
    if last < 0:
        return True
    row = connection.execute("SELECT embedding FROM documents WHERE pk = ?", (int(cache.keys[last]),)).fetchone()
    return row is not None and row[0] == cache.vectors[last].tobytes()


def _is_dead(cache: VectorCache, position: int) -> bool:
    found = int(np.searchsorted(cache.dead, position))
    return found < len(cache.dead) and int(cache.dead[found]) == position


def _vectors_end(count: int, dimension: int) -> int:
    return _HEADER_SIZE + count * dimension * 4


def _keys_end(count: int) -> int:
    return _FILE_HEADER.size + count * _KEY_RECORD.itemsize


def _sums_end(count: int) -> int:
    return _FILE_HEADER.size + count // CHUNK_ROWS * _CHUNK_SUMS.itemsize


def _dead_end(dead: int) -> int:
    return _FILE_HEADER.size + dead * 8


def _map(
    vectors: BinaryIO,
    keys: BinaryIO,
    header: _Header,
    dimension: int,
    chunk_sums: npt.NDArray[np.void],
    dead: npt.NDArray[np.int64],
    files: tuple[tuple[int, int, int], ...],
) -> VectorCache:
    if header.count == 0:
        records = np.empty(0, _KEY_RECORD)
        mapped = np.empty((0, dimension), np.float32)
    else:
        mapped = np.memmap(vectors, np.float32, "r", offset=_HEADER_SIZE, shape=(header.count, dimension))
        records = np.memmap(keys, _KEY_RECORD, "r", offset=_FILE_HEADER.size, shape=(header.count,))
    return VectorCache(
        header.state, mapped, records["squared_norm"], records["key"], dead, header, records, chunk_sums, files
    )  # fmt: skip


class _Checksums:
    """
    Hashes of rows as they are written.

    One pair per full chunk, and the running pair of the last, partial one (which an append starts from the rows already
    there).
    """

    def __init__(self, rows: int, tail_vectors: npt.NDArray[np.float32], tail_records: npt.NDArray[np.void]) -> None:
        self.rows = rows  # written so far, the last ``rows % CHUNK_ROWS`` of them given here
        self._vectors, self._keys = xxhash.xxh3_64(tail_vectors.data), xxhash.xxh3_64(tail_records.data)
        self.full: list[tuple[int, int]] = []

    @property
    def tail(self) -> tuple[int, int]:
        return self._vectors.intdigest(), self._keys.intdigest()

    def add(self, vectors: npt.NDArray[np.float32], records: npt.NDArray[np.void]) -> None:
        done = 0
        while done < len(vectors):
            take = min(len(vectors) - done, CHUNK_ROWS - self.rows % CHUNK_ROWS)
            self._vectors.update(vectors[done : done + take].data)
            self._keys.update(records[done : done + take].data)
            self.rows, done = self.rows + take, done + take
            if self.rows % CHUNK_ROWS == 0:
                self.full.append(self.tail)
                self._vectors, self._keys = xxhash.xxh3_64(), xxhash.xxh3_64()

    def full_bytes(self) -> bytes:
        return np.array(self.full, _CHUNK_SUMS).tobytes()


def _copy_rows(
    connection: sqlite3.Connection,
    after_key: int,
    dimension: int,
    vectors: BinaryIO,
    keys: BinaryIO,
    checksums: _Checksums,
    replaced: Sequence[int] = (),
) -> tuple[int, int]:
    """
    Stream the vectors of rows past ``after_key``, and of the rows ``replaced``, into the two open files.

    The rows ``replaced`` stream their new vectors. Returns (rows, last key).
    """
    cursor = connection.execute(
        "SELECT pk, embedding FROM documents WHERE (pk > ? OR pk IN (SELECT value FROM json_each(?))) "
        "AND embedding IS NOT NULL ORDER BY pk",
        (after_key, json.dumps(list(replaced))),
    )
    copied, last_key = 0, after_key
    while rows := cursor.fetchmany(_ROWS_PER_FETCH):
        block = np.frombuffer(b"".join(row[1] for row in rows), np.float32).reshape(len(rows), dimension)
        records = np.empty(len(rows), _KEY_RECORD)
        records["key"] = [row[0] for row in rows]
        records["squared_norm"] = np.einsum("ij,ij->i", block, block, dtype=np.float64)
        vectors.write(block.tobytes())
        keys.write(records.tobytes())
        checksums.add(block, records)
        copied, last_key = copied + len(rows), max(last_key, int(rows[-1][0]))
    return copied, last_key


def _append(
    database: Path,
    connection: sqlite3.Connection,
    loaded: VectorCache,
    state: StoreState,
    dimension: int,
    replaced: list[int],
) -> bool:
    """
    Patch the copy in place with the new and replaced rows, then rewrite the header to claim them.

    Write the new rows (and the new vectors of ``replaced`` rows) past the copy's end and the old rows of ``replaced``
    into the dead positions (cutting off what an interrupted append left), sync, and only then rewrite the header.
    Readers read no further than the header they read, so none is disturbed. Full chunks' hashes never change; the
    partial last chunk's are computed again from its rows, once they are found intact. Returns False, writing nothing,
    if they are not, or if too many rows would be dead (rebuild then).
    """
    header = loaded.header
    tail = slice(header.count // CHUNK_ROWS * CHUNK_ROWS, header.count)
    checksums = _Checksums(header.count, loaded.vectors[tail], loaded.records[tail])
    if checksums.tail != header.tail_sums:
        return False
    newly_dead = np.setdiff1d(np.flatnonzero(np.isin(loaded.keys, replaced)), loaded.dead).astype("<i8")
    if header.dead + len(newly_dead) > MAX_DEAD_SHARE * max(header.count, CHUNK_ROWS):
        return False
    vectors_path, keys_path, sums_path, dead_path = cache_paths(database)
    with (
        open(vectors_path, "r+b") as vectors, open(keys_path, "r+b") as keys, open(sums_path, "r+b") as sums,
        open(dead_path, "r+b") as dead,
    ):  # fmt: skip
        vectors.truncate(_vectors_end(header.count, dimension))
        keys.truncate(_keys_end(header.count))
        sums.truncate(_sums_end(header.count))
        dead.truncate(_dead_end(header.dead))
        dead.seek(_FILE_HEADER.size)
        dead_bytes = dead.read() + newly_dead.tobytes()
        for file in (vectors, keys, sums, dead):
            file.seek(0, os.SEEK_END)
        copied, last_key = _copy_rows(connection, header.last_key, dimension, vectors, keys, checksums, replaced)
        sums.write(checksums.full_bytes())
        dead.write(newly_dead.tobytes())
        for file in (vectors, keys, sums, dead):
            file.flush()
            os.fsync(file.fileno())
        appended = replace(
            header, state=state, count=header.count + copied, last_key=last_key, tail_sums=checksums.tail,
            dead=header.dead + len(newly_dead), dead_sum=_hash(dead_bytes),
        )  # fmt: skip
        vectors.seek(0)
        vectors.write(_pack(appended, dimension))
        vectors.flush()
        os.fsync(vectors.fileno())
    return True


def _build(database: Path, connection: sqlite3.Connection, state: StoreState, dimension: int) -> None:
    """Copy every vector into new files and rename them into place (vectors last; the build id binds them)."""
    build_id = secrets.token_bytes(16)
    targets = cache_paths(database)
    for target in targets:
        if target.is_dir():
            raise VectorCopyError(
                f"{target} is a directory, where the store keeps its vector copy: move it away to search {database}."
            )
        for leftover in target.parent.glob(glob.escape(target.name) + ".*.tmp"):
            leftover.unlink(missing_ok=True)  # what a killed build left: builds hold the write lock, none runs
    try:
        temporaries = [_temporary(target) for target in targets]
    except OSError as error:
        raise VectorCopyError(f"Cannot write the vector copy beside {database}: {error.strerror}.") from None
    try:
        with open(temporaries[0], "wb") as vectors, open(temporaries[1], "wb") as keys:
            vectors.write(_pack(_Header(build_id, state, 0, 0, (0, 0), 0, _hash(b"")), dimension))
            keys.write(_FILE_HEADER.pack(_KEYS_MAGIC, build_id))
            checksums = _Checksums(0, np.empty((0, dimension), np.float32), np.empty(0, _KEY_RECORD))
            copied, last_key = _copy_rows(connection, -(2**63), dimension, vectors, keys, checksums)
            vectors.seek(0)
            vectors.write(_pack(_Header(build_id, state, copied, last_key, checksums.tail, 0, _hash(b"")), dimension))
            for temporary, content in (
                (temporaries[2], _FILE_HEADER.pack(_SUMS_MAGIC, build_id) + checksums.full_bytes()),
                (temporaries[3], _FILE_HEADER.pack(_DEAD_MAGIC, build_id)),
            ):
                with open(temporary, "wb") as file:
                    file.write(content)
                    file.flush()
                    os.fsync(file.fileno())
            for file in (vectors, keys):
                file.flush()
                os.fsync(file.fileno())
        for temporary, target in zip(temporaries[::-1], targets[::-1], strict=True):
            os.replace(temporary, target)
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
    fields = _FIELDS.pack(
        _MAGIC, header.build_id, state.store_id, state.generation, state.rewrites, header.count, header.last_key,
        dimension, *header.tail_sums, header.dead, header.dead_sum,
    )  # fmt: skip
    return fields + _HEADER_HASH.pack(_hash(fields))


def _unpack(data: bytes, dimension: int) -> _Header | None:
    """The header, if it is one of this layout for ``dimension`` and its own checksum holds."""
    if len(data) != _HEADER_SIZE or _HEADER_HASH.unpack(data[_FIELDS.size :])[0] != _hash(data[: _FIELDS.size]):
        return None
    magic, build_id, store_id, generation, rewrites, count, last_key, found, *tail, dead, dead_sum = _FIELDS.unpack(
        data[: _FIELDS.size]
    )
    if magic != _MAGIC or found != dimension or count < 0 or not 0 <= dead <= count:
        return None
    state = StoreState(store_id, generation, rewrites)
    return _Header(build_id, state, count, last_key, (tail[0], tail[1]), dead, dead_sum)


def _hash(data: bytes | memoryview) -> int:
    return int(xxhash.xxh3_64_intdigest(data))


def _identities(database: Path) -> tuple[tuple[int, int, int], ...] | None:
    try:
        return tuple(_identity(path.stat()) for path in cache_paths(database))
    except OSError:
        return None


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
