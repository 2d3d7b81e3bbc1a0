"""
The store's vectors, stored once: an append-only float32 file beside the database, whose meaning SQLite records.

A dense search scans one flat memory-mapped array, so the vectors live in ``<store>-vectors.<n>`` (a header, then
float32 rows) with their squared norms in ``<store>-vector-norms.<n>`` (float64 rows); the database keeps no other
copy. Everything that says what the files hold is in the database, written in the same transaction as the documents:
each document's row (``documents.vec_pos``), how many rows are committed (``store_info.vector_count``), which file
(``store_info.vector_file``), the rows no document uses any more (``dead_vectors``, filled by triggers on delete and
on a new vector, whoever writes) and a 64-bit XXH3 hash of the vectors and one of the norms of each chunk of
``CHUNK_ROWS`` rows (``vector_chunks``).

A write holds SQLite's write lock: it cuts off whatever lies past the committed rows (what a killed or rolled-back
writer left), checks the last, partial chunk against its hashes, appends its vectors, syncs the files, and only then
commits the rows that point at them. So a ``kill -9`` at any point leaves files holding every committed row, and
nothing past the committed count is ever read. A new vector for a stored document is appended and the old row
becomes dead (searches skip it). When dead rows outnumber live ones, ``compact`` writes the live rows into file
``n + 1``, syncs it, moves the documents' positions in one fully synced transaction, and only then removes file
``n`` (a reader still mapping it keeps reading its snapshot; one that had not opened it yet reads the next snapshot).

Readers need no lock and write nothing. A process checks every chunk's hashes the first time it maps a file, then
only the chunks that writes appended, and again in full when the files change under it without a write. A file that
fails a check is never searched: the search raises ``VectorFileError`` naming the file (BM25 still answers), since
there is no second copy to rebuild from. XXH3 rather than CRC-32: checking 100k 384-dimensional vectors takes 36 ms
against zlib's CRC-32's 213 ms on the 2-core dev box.
"""

from __future__ import annotations

import glob
import os
import sqlite3
import struct
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import xxhash
from haystack.document_stores.errors import DocumentStoreError

from haystack_integrations.document_stores.opensearch_pretrained.scan_pool import scan_pool
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError

# The tables and triggers of the vectors' bookkeeping, created with the store's schema.
SCHEMA = (
    """CREATE TABLE dead_vectors (seq INTEGER PRIMARY KEY, pos INTEGER NOT NULL)""",
    """CREATE TABLE vector_chunks (chunk INTEGER PRIMARY KEY, vectors INTEGER NOT NULL, norms INTEGER NOT NULL)""",
    """CREATE TRIGGER documents_vector_ad AFTER DELETE ON documents WHEN old.vec_pos IS NOT NULL
    BEGIN INSERT INTO dead_vectors (pos) VALUES (old.vec_pos); END""",
    # A new vector is always appended past the old one; compaction only ever moves a row down, and kills nothing.
    """CREATE TRIGGER documents_vector_au AFTER UPDATE OF vec_pos ON documents
    WHEN old.vec_pos IS NOT NULL AND (new.vec_pos IS NULL OR new.vec_pos > old.vec_pos)
    BEGIN INSERT INTO dead_vectors (pos) VALUES (old.vec_pos); END""",
)
_VECTORS_MAGIC = b"OSPVEC04"
_NORMS_MAGIC = b"OSPNRM04"
_HEADER = struct.Struct("<8s16sqq")  # magic, store id, file number, dimension
_HEADER_SIZE = 64  # the header padded, so the rows start aligned
# 4096 rows of 384 float32 are 6 MiB: hashes per chunk cost 16 bytes, and chunks are checked in parallel.
CHUNK_ROWS = 4096
_COPY_ROWS = 16384
# Compaction once dead rows are more than this share of the file (a scan reads them all).
MAX_DEAD_SHARE = 0.5


class VectorFileError(OpenSearchPretrainedError, DocumentStoreError):
    """The store's vector file is missing, damaged (a checksum fails) or cannot be written where it belongs."""


@dataclass(frozen=True)
class VectorState:
    """What the database says the vector file holds, read in the transaction that uses it."""

    store_id: bytes
    file: int  # the file's number
    count: int  # committed rows
    dead_seq: int  # the last entry of ``dead_vectors``


@dataclass(frozen=True)
class Vectors:
    """The mapped rows of one state of the store, and how far this process has checked them."""

    state: VectorState
    vectors: npt.NDArray[np.float32]  # (count, dimension), memory-mapped
    squared_norms: npt.NDArray[np.float64]  # (count,), memory-mapped
    dead: npt.NDArray[np.int64]  # sorted positions of rows no document uses (deleted or replaced)
    files: tuple[tuple[int, int, int], ...]  # (inode, size, mtime) of each file: changed files are checked again
    verified: int = 0  # rows (a prefix) whose checksums this process has checked


def read_state(connection: sqlite3.Connection) -> VectorState:
    """The vector file's state in the snapshot ``connection`` reads."""
    store_id, file, count, dead_seq = connection.execute(
        "SELECT store_id, vector_file, vector_count, (SELECT coalesce(max(seq), 0) FROM dead_vectors) FROM store_info"
    ).fetchone()
    return VectorState(bytes(store_id), int(file), int(count), int(dead_seq))


def file_paths(database: Path, number: int) -> tuple[Path, Path]:
    """The vectors file and the squared norms file of file number ``number``."""
    return (
        database.with_name(f"{database.name}-vectors.{number}"),
        database.with_name(f"{database.name}-vector-norms.{number}"),
    )


def unchanged(database: Path, vectors: Vectors) -> bool:
    """Whether the files are still the ones ``vectors`` checked (two ``stat`` calls: cheap per search)."""
    return _identities(database, vectors.state.file) == vectors.files and vectors.verified == vectors.state.count


def load(
    database: Path, connection: sqlite3.Connection, state: VectorState, dimension: int, previous: Vectors | None
) -> Vectors:
    """
    The rows of ``state``, mapped and checked.

    Rows ``previous`` checked in the same file, only appended to since, are not read again. No lock is needed: rows
    are only written past every committed one.

    :param database: The store's database file.
    :param connection: A connection reading the snapshot of ``state``.
    :param state: The state to map.
    :param dimension: The vectors' dimension.
    :param previous: What this process mapped before, if anything.
    :returns: The mapped rows.

    :raises VectorFileError: If a file is missing, short, of another store, or fails a checksum.
    """
    if state.count == 0:
        return Vectors(state, np.empty((0, dimension), np.float32), np.empty(0, np.float64), _no_rows(), (), 0)
    paths = file_paths(database, state.file)
    try:
        with open(paths[0], "rb") as vector_file, open(paths[1], "rb") as norm_file:
            for file, magic, path in ((vector_file, _VECTORS_MAGIC, paths[0]), (norm_file, _NORMS_MAGIC, paths[1])):
                if file.read(_HEADER.size) != _HEADER.pack(magic, state.store_id, state.file, dimension):
                    raise VectorFileError(_damaged(path, "its header is not this store's"))
                row_bytes = dimension * 4 if file is vector_file else 8
                if os.fstat(file.fileno()).st_size < _HEADER_SIZE + state.count * row_bytes:
                    raise VectorFileError(_damaged(path, f"it is shorter than the {state.count} rows committed"))
            files = tuple(_identity(os.fstat(file.fileno())) for file in (vector_file, norm_file))
            vectors = np.memmap(vector_file, np.float32, "r", offset=_HEADER_SIZE, shape=(state.count, dimension))
            norms = np.memmap(norm_file, np.float64, "r", offset=_HEADER_SIZE, shape=(state.count,))
    except FileNotFoundError as error:
        raise VectorFileError(
            f"The vector file {error.filename} of store {database} is missing: restore it with the store (they are "
            "one store) or index the documents again."
        ) from None
    except IsADirectoryError as error:
        raise VectorFileError(_in_the_way(Path(str(error.filename)), database)) from None
    _check(paths[0], connection, vectors, norms, _trusted(state, files, previous))
    return Vectors(state, vectors, norms, _dead(connection, state, previous), files, state.count)


@contextmanager
def appending(
    database: Path, connection: sqlite3.Connection, dimension: int, block: npt.NDArray[np.float32]
) -> Iterator[None]:
    """
    Append ``block`` past the committed rows while the body runs, and record it once both are done.

    Cuts off what lies past the committed rows and checks the last, partial chunk; then a thread writes and syncs the
    files while the body does its SQL (so the disk works while SQLite indexes), and after both the chunks' hashes and
    the new count are recorded. ``connection`` holds the write lock, in the transaction that commits the rows
    pointing at these vectors: nothing commits before the files are synced. A body that fails waits for the thread
    (the rows it wrote lie past the committed count: the next write cuts them off).

    :param database: The store's database file.
    :param connection: The writing connection.
    :param dimension: The vectors' dimension.
    :param block: The new vectors, ``(rows, dimension)`` float32.

    :raises VectorFileError: If the last chunk fails its checksum (appending would bless the damage), or a file of
        another store, or a directory, is in the way.
    :raises OSError: If the files cannot be written (a full disk, a file size limit).
    """
    state = read_state(connection)
    if len(block) == 0:
        yield
        return
    norms = np.einsum("ij,ij->i", block, block, dtype=np.float64)
    first = state.count // CHUNK_ROWS * CHUNK_ROWS  # the partial last chunk starts here
    paths = file_paths(database, state.file)
    with (
        _open_for_append(paths[0], _VECTORS_MAGIC, state, dimension, database) as vector_file,
        _open_for_append(paths[1], _NORMS_MAGIC, state, dimension, database) as norm_file,
    ):
        tail_vectors = _read_rows(vector_file, np.float32, first, state.count, dimension)
        tail_norms = _read_rows(norm_file, np.float64, first, state.count, 1).reshape(-1)
        if first < state.count:
            expected = connection.execute(
                "SELECT vectors, norms FROM vector_chunks WHERE chunk = ?", (first // CHUNK_ROWS,)
            ).fetchone()
            found = _hash(tail_vectors.data), _hash(tail_norms.data)
            if expected is None or found != tuple(map(_unsigned, expected)):
                raise VectorFileError(_damaged(paths[0], f"rows {first}-{state.count - 1} fail their checksum"))
        written = scan_pool().submit(_write_and_sync, ((vector_file, block), (norm_file, norms)))
        try:
            yield
        finally:
            futures.wait([written])  # the files stay open until the thread is done with them
        written.result()  # its error (a full disk) fails the write
    _record_chunks(connection, first, (tail_vectors, tail_norms), (block, norms))
    connection.execute("UPDATE store_info SET vector_count = ?", (state.count + len(block),))


def append(database: Path, connection: sqlite3.Connection, dimension: int, block: npt.NDArray[np.float32]) -> None:
    """``appending`` with nothing to do meanwhile."""
    with appending(database, connection, dimension, block):
        pass


def _write_and_sync(files: tuple[tuple[BinaryIO, npt.NDArray[np.generic]], ...]) -> None:
    for file, rows in files:
        file.write(np.ascontiguousarray(rows).data)
        file.flush()
        os.fdatasync(file.fileno())


def move_blobs(database: Path, connection: sqlite3.Connection, dimension: int) -> None:
    """
    Append the vectors a version 1 store kept as BLOBs (``documents.embedding``) to the vector file.

    In row order, each row pointed at its vector; ``connection`` holds the write lock, in the upgrading transaction.

    :param database: The store's database file.
    :param connection: The writing connection.
    :param dimension: The vectors' dimension.
    """
    after = -(2**63)
    while batch := connection.execute(
        "SELECT pk, embedding FROM documents WHERE embedding IS NOT NULL AND pk > ? ORDER BY pk LIMIT ?",
        (after, _COPY_ROWS),
    ).fetchall():
        after = batch[-1][0]
        first = read_state(connection).count
        moves = [(first + i, pk) for i, (pk, _) in enumerate(batch)]
        block = np.frombuffer(b"".join(blob for _, blob in batch), np.float32).reshape(len(batch), dimension)
        append(database, connection, dimension, block)
        connection.executemany("UPDATE documents SET vec_pos = ? WHERE pk = ?", moves)


def dead_share(connection: sqlite3.Connection) -> float:
    """The share of the file's rows that no document uses."""
    count = read_state(connection).count
    dead = int(connection.execute("SELECT count(*) FROM dead_vectors").fetchone()[0])
    return dead / count if count else 0.0


def compact(database: Path, connection: sqlite3.Connection, dimension: int) -> int:
    """
    Write the live rows into the next file, move the documents' positions to it and forget the dead rows.

    ``connection`` holds the write lock; commit with full sync before ``remove_file`` removes the old file.

    :param database: The store's database file.
    :param connection: The writing connection.
    :param dimension: The vectors' dimension.

    :returns: The number of the old file.
    :raises VectorFileError: If the current file fails its checks (nothing damaged is copied).
    """
    state = read_state(connection)
    current = load(database, connection, state, dimension, None)
    positions = connection.execute("SELECT vec_pos FROM documents WHERE vec_pos IS NOT NULL ORDER BY vec_pos")
    live = np.fromiter((row[0] for row in positions), np.int64)
    number = state.file + 1
    fresh = VectorState(state.store_id, number, 0, 0)
    paths = file_paths(database, number)
    for leftover in _files(database):  # what killed compactions left, and old files a kill kept from removal
        if leftover not in (*file_paths(database, state.file), *paths):
            leftover.unlink(missing_ok=True)
    chunks = _ChunkHashes()
    with (
        _open_for_append(paths[0], _VECTORS_MAGIC, fresh, dimension, database) as vector_file,
        _open_for_append(paths[1], _NORMS_MAGIC, fresh, dimension, database) as norm_file,
    ):
        for start in range(0, len(live), _COPY_ROWS):
            rows = live[start : start + _COPY_ROWS]
            vectors, norms = np.asarray(current.vectors[rows]), np.asarray(current.squared_norms[rows])
            vector_file.write(vectors.tobytes())
            norm_file.write(norms.tobytes())
            chunks.add(vectors, norms)
        for file in (vector_file, norm_file):
            file.flush()
            os.fsync(file.fileno())
    moved = ((new, int(old)) for new, old in enumerate(live) if new != old)  # upwards: each target is free
    connection.executemany("UPDATE documents SET vec_pos = ? WHERE vec_pos = ?", moved)
    connection.execute("DELETE FROM dead_vectors")
    connection.execute("DELETE FROM vector_chunks")
    connection.executemany("INSERT INTO vector_chunks VALUES (?, ?, ?)", chunks.rows())
    connection.execute("UPDATE store_info SET vector_file = ?, vector_count = ?", (number, len(live)))
    return state.file


def remove_file(database: Path, number: int) -> None:
    """Remove an old file once no committed state names it."""
    for path in file_paths(database, number):
        path.unlink(missing_ok=True)


def _files(database: Path) -> list[Path]:
    pattern = glob.escape(database.name)
    return [
        *database.parent.glob(pattern + "-vectors.*"),
        *database.parent.glob(pattern + "-vector-norms.*"),
    ]


@contextmanager
def _open_for_append(
    path: Path, magic: bytes, state: VectorState, dimension: int, database: Path
) -> Iterator[BinaryIO]:
    """
    ``path`` open at the end of its committed rows, what lies past them cut off.

    A header is written if the file holds no committed row yet (a new file, or what another store at this path left).
    """
    header = _HEADER.pack(magic, state.store_id, state.file, dimension).ljust(_HEADER_SIZE, b"\0")
    row_bytes = dimension * 4 if magic == _VECTORS_MAGIC else 8
    try:
        created = not path.exists()
        file = open(path, "w+b" if created else "r+b")  # noqa: SIM115 (closed by the with below)
        if created:
            _sync_directory(path.parent)
    except IsADirectoryError:
        raise VectorFileError(_in_the_way(path, database)) from None
    except PermissionError as error:
        raise VectorFileError(f"Cannot write the vector file beside {database}: {error.strerror}.") from None
    with file:
        if state.count == 0:
            file.truncate(0)
            file.write(header)
            file.flush()
        elif file.read(_HEADER_SIZE) != header:
            raise VectorFileError(_damaged(path, "its header is not this store's"))
        end = _HEADER_SIZE + state.count * row_bytes
        if os.fstat(file.fileno()).st_size < end:
            raise VectorFileError(_damaged(path, f"it is shorter than the {state.count} rows committed"))
        file.truncate(end)
        file.seek(end)
        yield file


def _read_rows(file: BinaryIO, dtype: type, first: int, end: int, width: int) -> npt.NDArray[np.generic]:
    size = np.dtype(dtype).itemsize * width
    file.seek(_HEADER_SIZE + first * size)
    data = file.read((end - first) * size)
    file.seek(0, os.SEEK_END)
    return np.frombuffer(data, dtype).reshape(end - first, width) if width > 1 else np.frombuffer(data, dtype)


def _record_chunks(
    connection: sqlite3.Connection,
    first: int,
    *parts: tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]],
) -> None:
    """Store the hashes of the chunks from row ``first`` (a chunk start) on: ``parts`` are consecutive rows."""
    chunks = _ChunkHashes(first // CHUNK_ROWS)
    for vectors, norms in parts:
        chunks.add(vectors, norms)
    connection.executemany("INSERT OR REPLACE INTO vector_chunks VALUES (?, ?, ?)", chunks.rows())


class _ChunkHashes:
    """Hashes of rows written chunk by chunk, the last chunk perhaps partial."""

    def __init__(self, first_chunk: int = 0) -> None:
        self._first = first_chunk
        self._hashes: list[tuple[int, int]] = []
        self._vectors, self._norms = xxhash.xxh3_64(), xxhash.xxh3_64()
        self._rows = 0  # rows added to the current chunk

    def add(self, vectors: npt.NDArray[np.generic], norms: npt.NDArray[np.generic]) -> None:
        done = 0
        while done < len(vectors):
            take = min(len(vectors) - done, CHUNK_ROWS - self._rows)
            self._vectors.update(np.ascontiguousarray(vectors[done : done + take]).data)
            self._norms.update(np.ascontiguousarray(norms[done : done + take]).data)
            self._rows, done = self._rows + take, done + take
            if self._rows == CHUNK_ROWS:
                self._hashes.append((self._vectors.intdigest(), self._norms.intdigest()))
                self._vectors, self._norms, self._rows = xxhash.xxh3_64(), xxhash.xxh3_64(), 0

    def rows(self) -> list[tuple[int, int, int]]:
        """``(chunk, vectors hash, norms hash)`` of every chunk, as SQLite's signed 64-bit integers."""
        hashes = self._hashes + ([(self._vectors.intdigest(), self._norms.intdigest())] if self._rows else [])
        return [(self._first + i, _signed(v), _signed(n)) for i, (v, n) in enumerate(hashes)]


def _check(
    path: Path,
    connection: sqlite3.Connection,
    vectors: npt.NDArray[np.float32],
    norms: npt.NDArray[np.float64],
    trusted: int,
) -> None:
    """Check the chunks from the one holding row ``trusted`` on against their hashes, in parallel."""
    count = len(vectors)
    first_chunk = trusted // CHUNK_ROWS
    expected = {
        int(chunk): (_unsigned(v), _unsigned(n))
        for chunk, v, n in connection.execute(
            "SELECT chunk, vectors, norms FROM vector_chunks WHERE chunk >= ?", (first_chunk,)
        )
    }

    def chunk_ok(chunk: int) -> bool:
        rows = slice(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, count))
        return expected.get(chunk) == (_hash(vectors[rows].data), _hash(norms[rows].data))

    chunks = range(first_chunk, (count + CHUNK_ROWS - 1) // CHUNK_ROWS)
    results = list(map(chunk_ok, chunks) if len(chunks) <= 1 else scan_pool().map(chunk_ok, chunks))
    if not all(results):
        bad = chunks[results.index(False)]
        rows = f"rows {bad * CHUNK_ROWS}-{min((bad + 1) * CHUNK_ROWS, count) - 1}"
        raise VectorFileError(_damaged(path, f"{rows} fail their checksum"))


def _trusted(state: VectorState, files: tuple[tuple[int, int, int], ...], previous: Vectors | None) -> int:
    """
    How many leading rows this process checked already, in ``previous``.

    All it checked when the files are the same, the rows it had checked when writes only appended since, none when
    the files changed without a write.
    """
    if previous is None or previous.state.file != state.file or previous.state.store_id != state.store_id:
        return 0
    if previous.files == files or previous.state.count < state.count:
        return min(previous.verified, state.count)
    return 0


def _dead(connection: sqlite3.Connection, state: VectorState, previous: Vectors | None) -> npt.NDArray[np.int64]:
    """The sorted dead positions of ``state``: those ``previous`` knew (same file) and the ones recorded since."""
    if previous is not None and previous.state.file == state.file and previous.state.store_id == state.store_id:
        since = previous.state.dead_seq
        known = previous.dead
    else:
        since, known = 0, _no_rows()
    if state.dead_seq == since:
        return known
    rows = connection.execute("SELECT pos FROM dead_vectors WHERE seq > ?", (since,))
    added = np.fromiter((row[0] for row in rows), np.int64)
    return np.union1d(known, added).astype(np.int64)


def _no_rows() -> npt.NDArray[np.int64]:
    return np.empty(0, np.int64)


def _sync_directory(directory: Path) -> None:
    """Make a new file's name durable before a commit points at it."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _damaged(path: Path, why: str) -> str:
    return (
        f"The vector file {path} is damaged ({why}): dense search cannot be exact on it. Restore the store and its "
        "vector files from a backup, or index the documents into a new store; BM25 still answers."
    )


def _in_the_way(path: Path, database: Path) -> str:
    return f"{path} is a directory, where the store keeps its vectors: move it away to use {database}."


def _hash(data: bytes | memoryview) -> int:
    return int(xxhash.xxh3_64_intdigest(data))


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def _identities(database: Path, number: int) -> tuple[tuple[int, int, int], ...] | None:
    try:
        return tuple(_identity(path.stat()) for path in file_paths(database, number))
    except OSError:
        return None


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
