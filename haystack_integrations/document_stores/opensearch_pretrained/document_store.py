"""A Haystack document store in one SQLite file: documents, meta, float32 vectors, BM25 (FTS5) and the model.

SQLite gives what a file of JSON lines could not: transactions (a ``kill -9`` mid-write loses only the
uncommitted batch, and the next run rewrites it), WAL mode (searches read while one process writes), a busy
timeout (a second writer waits for the first instead of failing), a primary key (a document is stored once,
whoever writes it) and FTS5 for BM25. The store records the model it holds vectors of and refuses others.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, default_from_dict, default_to_dict
from haystack.document_stores.errors import DocumentStoreError, DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.opensearch_pretrained import knn, metadata, scoring, vector_cache
from haystack_integrations.document_stores.opensearch_pretrained.async_operations import AsyncOperations
from haystack_integrations.document_stores.opensearch_pretrained.filters import SqlClause, to_sql, validate_filters
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.compatibility import (
    IndexMismatchError,
    ModelIdentity,
    require_same_model,
    require_same_space,
)
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError

SCHEMA_VERSION = 1
DEFAULT_BUSY_TIMEOUT = 600.0
# One statement each: executescript() would commit, and the schema is created inside the opening transaction.
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS store_info (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        schema_version INTEGER NOT NULL,
        model_name TEXT NOT NULL,
        model_version TEXT NOT NULL,
        dimension INTEGER NOT NULL,
        space_type TEXT NOT NULL,
        generation INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS documents (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        content TEXT,
        meta TEXT NOT NULL,
        embedding BLOB,
        extra TEXT
    )""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
        content, content='documents', content_rowid='pk', tokenize='unicode61 remove_diacritics 0'
    )""",
    """CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
        INSERT INTO documents_fts(rowid, content) VALUES (new.pk, new.content);
    END""",
    """CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, content) VALUES ('delete', old.pk, old.content);
    END""",
    """CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, content) VALUES ('delete', old.pk, old.content);
        INSERT INTO documents_fts(rowid, content) VALUES (new.pk, new.content);
    END""",
)
# Added to stores of the first layout too (the file copy of the vectors checks them): an id per store file, and a
# count of vector rewrites kept by triggers, so any writer's update or delete shows that the copy cannot be appended to.
_VECTOR_STATE = (
    ("store_id", "BLOB"),
    ("rewrites", "INTEGER NOT NULL DEFAULT 0"),
)
_VECTOR_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS documents_vector_ad AFTER DELETE ON documents WHEN old.embedding IS NOT NULL
    BEGIN UPDATE store_info SET rewrites = rewrites + 1; END""",
    """CREATE TRIGGER IF NOT EXISTS documents_vector_au AFTER UPDATE OF pk, embedding ON documents
    WHEN old.embedding IS NOT new.embedding OR old.pk != new.pk
    BEGIN UPDATE store_info SET rewrites = rewrites + 1; END""",
)
# This connection's own record of the vectors its write transaction deletes or replaces (temporary: other
# connections' writes are only counted, by the triggers above), so the vector copy can be patched, not rebuilt.
_REPLACED_LOG = (
    "CREATE TEMP TABLE IF NOT EXISTS replaced_vectors (pk INTEGER NOT NULL)",  # no key: an upsert's conflict
    # handling would apply to it too
    """CREATE TEMP TRIGGER IF NOT EXISTS replaced_vectors_ad AFTER DELETE ON main.documents
    WHEN old.embedding IS NOT NULL BEGIN INSERT INTO replaced_vectors VALUES (old.pk); END""",
    """CREATE TEMP TRIGGER IF NOT EXISTS replaced_vectors_au AFTER UPDATE OF pk, embedding ON main.documents
    WHEN old.embedding IS NOT new.embedding OR old.pk != new.pk BEGIN
        INSERT INTO replaced_vectors VALUES (old.pk);
        INSERT INTO replaced_vectors VALUES (new.pk);
    END""",
)
_COLUMNS = "d.pk, d.id, d.content, d.meta, d.embedding, d.extra"
_ROWS_PER_FETCH = 1000
# Query terms for FTS5, each quoted, so no user text is read as FTS5 query syntax.
_TERM = re.compile(r"\w+")


class SQLiteStoreError(OpenSearchPretrainedError, DocumentStoreError):
    """A store file that cannot be used: not ours, a newer schema, or an SQLite without FTS5 (a Haystack
    ``DocumentStoreError``, as the errors of Haystack's own stores are)."""


@dataclass(frozen=True)
class StoreModel:
    """The model a store holds vectors of, as recorded in the store."""

    name: str
    version: str
    dimension: int
    space_type: str

    def identity(self) -> ModelIdentity:
        """The record as a ``ModelIdentity``: a catalog name and version pin pooling, normalization and truncation."""
        return ModelIdentity(self.name, self.version, self.dimension, self.space_type)


class SQLiteDocumentStore(AsyncOperations):
    """Documents, meta, vectors and a BM25 index in one SQLite file, for one pretrained model's k-NN space.

    The connection opens on first use (``__init__`` only records parameters) and ``close()`` releases it.
    A new store needs ``model`` (and optionally ``version``/``space_type``, the catalog's by default); an
    existing store records its own, and opening it with another model (another name or version, see
    ``ModelIdentity``) raises ``IndexMismatchError``.

    Usage example:
    ```python
    store = SQLiteDocumentStore(path="store.sqlite", model="all-MiniLM-L6-v2")
    store.write_documents(embedded_documents)
    store.embedding_retrieval(query_embedding=vector, top_k=5)
    ```
    """

    def __init__(
        self,
        *,
        path: str,
        model: str | None = None,
        version: str | None = None,
        space_type: str | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self.path = str(path)
        self.model = model
        self.version = version
        self.space_type = space_type
        self.busy_timeout = busy_timeout
        self._connection: sqlite3.Connection | None = None
        self._record: StoreModel | None = None
        self._lock = threading.RLock()
        self._cache: vector_cache.VectorCache | None = None
        self._changes: vector_cache.Changes | None = None  # what the last write transaction did to the vectors

    # -- lifecycle -----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self, path=self.path, model=self.model, version=self.version, space_type=self.space_type,
            busy_timeout=self.busy_timeout,
        )  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SQLiteDocumentStore:
        return default_from_dict(cls, data)

    def close(self) -> None:
        """Release the connection and the mapped vectors; the store reopens on next use."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._cache = None

    @property
    def store_model(self) -> StoreModel:
        """The model record of the store (opening it if needed)."""
        self._connect()
        assert self._record is not None
        return self._record

    # -- DocumentStore protocol ----------------------------------------------------------------------------

    def count_documents(self) -> int:
        with self._reading() as connection:
            return int(connection.execute("SELECT count(*) FROM documents").fetchone()[0])

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Documents matching Haystack ``filters`` (all of them without), in the order they were first written."""
        with self._reading() as connection:
            where, params = self._where(connection, filters)
            rows = connection.execute(f"SELECT {_COLUMNS} FROM documents d WHERE {where} ORDER BY d.pk", params)
            return [_document(row) for row in rows]

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Write ``documents`` in one transaction (all or none); NONE means FAIL. Returns how many were written."""
        if not isinstance(documents, list) or not all(isinstance(doc, Document) for doc in documents):
            raise ValueError("write_documents expects a list of Documents.")
        record = self.store_model
        rows = [self._row(document, record) for document in documents]
        policy = DuplicatePolicy(policy)
        policy = DuplicatePolicy.FAIL if policy == DuplicatePolicy.NONE else policy
        written = self._insert(rows, policy)
        if any(row[3] is not None for row in rows) or (self._changes is not None and self._changes.replaced):
            self._extend_vectors()
        return written

    def _insert(self, rows: list[tuple[Any, ...]], policy: DuplicatePolicy) -> int:
        insert = "INSERT INTO documents (id, content, meta, embedding, extra) VALUES (?, ?, ?, ?, ?)"
        with self._writing() as connection:
            if policy == DuplicatePolicy.OVERWRITE:
                connection.executemany(
                    insert + " ON CONFLICT(id) DO UPDATE SET content = excluded.content, meta = excluded.meta, "
                    "embedding = excluded.embedding, extra = excluded.extra",
                    rows,
                )
                return len(rows)
            if policy == DuplicatePolicy.SKIP:
                return int(connection.executemany(insert + " ON CONFLICT(id) DO NOTHING", rows).rowcount)
            try:
                connection.executemany(insert, rows)
            except sqlite3.IntegrityError as error:
                raise DuplicateDocumentError(f"A document with one of these ids is already stored: {error}") from None
            return len(rows)

    def delete_documents(self, document_ids: list[str]) -> None:
        with self._writing() as connection:
            connection.executemany("DELETE FROM documents WHERE id = ?", [(doc_id,) for doc_id in document_ids])
        self._extend_vectors()

    # -- Haystack 3.4's store operations (InMemoryDocumentStore's semantics and filters) ---------------------

    def delete_all_documents(self, recreate_index: bool = False) -> None:
        """Delete every document; the store keeps its model record.

        :param recreate_index: Also compact the file (``VACUUM``), so the space of the deleted rows goes back to the
            file system; otherwise SQLite keeps it for the next writes.
        """
        with self._writing() as connection:
            connection.execute("DELETE FROM documents")
        self._extend_vectors()
        if recreate_index:
            with self._lock:
                self._connect().execute("VACUUM")

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete the documents matching ``filters`` (Haystack's filter syntax).

        :param filters: Which documents to delete; must not be empty (``delete_all_documents`` deletes everything).
        :returns: The number of documents deleted.
        :raises ValueError: If ``filters`` is empty.
        :raises FilterError: If ``filters`` is malformed.
        """
        _require_filters(filters, "delete_by_filter", " (delete_all_documents() deletes everything)")
        with self._writing() as connection:
            where, params = self._where(connection, filters)
            deleted = int(connection.execute(f"DELETE FROM documents AS d WHERE {where}", params).rowcount)
        self._extend_vectors()
        return deleted

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the meta of the documents matching ``filters`` (top-level keys replaced, as
        ``dict.update``). Content and vectors stay, so the vector copy is kept as it is.

        :param filters: Which documents to update (Haystack's filter syntax); must not be empty.
        :param meta: The metadata keys and values to set.
        :returns: The number of documents updated.
        :raises ValueError: If ``filters`` or ``meta`` is empty, or a key holds a double quote.
        :raises FilterError: If ``filters`` is malformed.
        """
        _require_filters(filters, "update_by_filter")
        if not meta:
            raise ValueError("update_by_filter needs meta: the keys and values to set.")
        paths = [metadata.meta_path(key) for key in meta]
        assignments = ", ".join(f"{path}, json(?)" for path in paths)
        values = [json.dumps(value) for value in meta.values()]
        with self._writing() as connection:
            where, params = self._where(connection, filters)
            updated = connection.execute(
                f"UPDATE documents AS d SET meta = json_set(d.meta, {assignments}) WHERE {where}", [*values, *params]
            ).rowcount
        self._extend_vectors()
        return int(updated)

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        """The number of documents matching ``filters`` (all of them when empty).

        :param filters: Haystack filters.
        :returns: How many documents match.
        """
        with self._reading() as connection:
            where, params = self._where(connection, filters)
            return int(connection.execute(f"SELECT count(*) FROM documents d WHERE {where}", params).fetchone()[0])

    def count_unique_metadata_by_filter(self, filters: dict[str, Any], metadata_fields: list[str]) -> dict[str, int]:
        """How many distinct values each metadata field takes over the documents matching ``filters``.

        :param filters: Haystack filters (empty: every document).
        :param metadata_fields: Field names, with or without the ``meta.`` prefix.
        :returns: Each field name (without ``meta.``) and its number of distinct non-null values.
        """
        with self._reading() as connection:
            where, params = self._where(connection, filters)
            counts = {}
            for field in metadata_fields:
                rows = connection.execute(metadata.distinct_values_sql(field, where), params)
                counts[field.removeprefix("meta.")] = len(
                    {metadata.hashable(metadata.python_value(json_type, value)) for json_type, value in rows}
                )
            return counts

    def get_metadata_fields_info(self) -> dict[str, dict[str, str]]:
        """The metadata fields of the stored documents and their types (``keyword``, ``int``, ``float``,
        ``boolean``), inferred from the values; a field with values of several types has the type of the last
        written document's value.

        :returns: Each field name and ``{"type": ...}``.
        """
        with self._reading() as connection:
            rows = connection.execute(
                "SELECT j.key, j.type, max(d.pk) AS last FROM documents d, json_each(d.meta) j "
                "WHERE j.type != 'null' GROUP BY j.key, j.type ORDER BY last"
            )
            return {key: {"type": metadata.FIELD_TYPES[json_type]} for key, json_type, _ in rows}

    def get_metadata_field_min_max(self, metadata_field: str) -> dict[str, Any]:
        """The smallest and largest value of a metadata field over all documents (numbers or strings).

        :param metadata_field: The field name, with or without the ``meta.`` prefix.
        :returns: ``{"min": ..., "max": ...}``, both None when no document has a comparable value.
        """
        with self._reading() as connection:
            bounds = connection.execute(
                f"SELECT type, min(value), max(value) FROM ({metadata.distinct_values_sql(metadata_field, '1')}) "
                "GROUP BY type"
            )
            return metadata.min_max(list(bounds))

    def get_metadata_field_unique_values(
        self,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """The distinct values of a metadata field, ordered by their text, a page at a time.

        :param metadata_field: The field name, with or without the ``meta.`` prefix.
        :param search_term: Keep only values whose text contains this, ignoring case.
        :param from_: How many values to skip.
        :param size: How many values to return at most.
        :param filters: Haystack filters restricting the documents considered.
        :returns: The page of values (in their stored types) and the number of distinct values in all.
        """
        with self._reading() as connection:
            where, params = self._where(connection, filters)
            unique: dict[tuple[str, Any], Any] = {}
            for json_type, stored in connection.execute(metadata.distinct_values_sql(metadata_field, where), params):
                value = metadata.python_value(json_type, stored)
                unique.setdefault((type(value).__name__, metadata.hashable(value)), value)
        if search_term:
            unique = {key: value for key, value in unique.items() if search_term.lower() in str(value).lower()}
        ordered = sorted(unique, key=lambda key: (str(unique[key]), key[0]))
        return [unique[key] for key in ordered[from_ : from_ + size]], len(ordered)

    # -- what sinks and retrievers need --------------------------------------------------------------------

    def stored_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the store already holds (for resumable indexing)."""
        with self._reading() as connection:
            found = connection.execute(
                "SELECT id FROM documents WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
            )
            return {row[0] for row in found}

    def embedding_retrieval(
        self,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        return_embedding: bool = False,
    ) -> list[Document]:
        """Exact k-NN in the store's space: the ``top_k`` best vectors, scored as OpenSearch's k-NN scores them."""
        with self._reading(vectors=True) as connection:
            hits = self._dense_hits(connection, query_embedding, filters, top_k)
            return self._documents(connection, hits, return_embedding)

    def bm25_retrieval(
        self, query: str, *, filters: dict[str, Any] | None = None, top_k: int = 10, return_embedding: bool = False
    ) -> list[Document]:
        """FTS5's BM25 (k1 1.2, b 0.75, as Lucene) over the query's terms, any of which may match (OpenSearch's
        ``match``)."""
        with self._reading() as connection:
            hits = self._bm25_hits(connection, query, filters, top_k)
            return self._documents(connection, hits, return_embedding)

    def hybrid_retrieval(
        self,
        query: str,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        fusion: str = scoring.DEFAULT_FUSION,
        bm25_weight: float = scoring.DEFAULT_BM25_WEIGHT,
        rank_constant: int = scoring.DEFAULT_RANK_CONSTANT,
        return_embedding: bool = False,
    ) -> list[Document]:
        """BM25 and k-NN, each ``top_k`` deep, fused as OpenSearch's hybrid search pipelines fuse them:
        ``min_max`` (weights ``bm25_weight`` and ``1 - bm25_weight``) or ``rrf``."""
        if fusion not in scoring.FUSIONS:
            raise ValueError(f"Unknown fusion {fusion!r}; use one of {', '.join(scoring.FUSIONS)}.")
        if not 0.0 <= bm25_weight <= 1.0:
            raise ValueError("bm25_weight must lie between 0 and 1 (the dense weight is 1 - bm25_weight).")
        with self._reading(vectors=True) as connection:
            ranked = [
                self._bm25_hits(connection, query, filters, top_k),
                self._dense_hits(connection, query_embedding, filters, top_k),
            ]
            if fusion == "rrf":
                fused = scoring.reciprocal_rank_fusion(ranked, rank_constant=rank_constant)
            else:
                fused = scoring.min_max_fusion(ranked, [bm25_weight, 1.0 - bm25_weight])
            return self._documents(connection, fused[:top_k], return_embedding)

    # -- internals -----------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        with self._lock:
            if self._connection is None:
                if self.model is None and not Path(self.path).exists():
                    raise SQLiteStoreError(
                        f"No store at {self.path!r}: index documents first, or give model=... to start a new store."
                    )
                connection = self._open_file()
                try:
                    self._record = self._open(connection)
                except BaseException:
                    connection.close()
                    raise
                self._connection = connection
            return self._connection

    def _open_file(self) -> sqlite3.Connection:
        """The SQLite connection; a path that cannot be a store file (a directory, a missing or unwritable
        directory) is one ``SQLiteStoreError`` naming it."""
        try:
            return sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as error:
            if Path(self.path).is_dir():
                raise SQLiteStoreError(
                    f"Store path {self.path!r} is a directory: give the path of a store file in it, such as "
                    f"{str(Path(self.path) / 'store.sqlite')!r}."
                ) from None
            raise SQLiteStoreError(
                f"Cannot open or create the store file {self.path!r} ({error}): check that its directory exists "
                "and that you may write there."
            ) from None

    def _open(self, connection: sqlite3.Connection) -> StoreModel:
        """Set WAL mode, create the schema and record the model (a new store), or check the recorded one."""
        if sqlite3.sqlite_version_info < (3, 35) or not has_fts5():
            raise SQLiteStoreError(
                f"This Python's SQLite ({sqlite3.sqlite_version}) lacks FTS5 (or is older than 3.35), which the "
                "embedded store needs for BM25. Use a Python build whose sqlite3 has FTS5 (CPython's official "
                "builds do), or index into OpenSearch instead."
            )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses no committed transaction
            with _transaction(connection):
                for statement in _SCHEMA:
                    connection.execute(statement)
                row = connection.execute(
                    "SELECT schema_version, model_name, model_version, dimension, space_type FROM store_info"
                ).fetchone()
                if row is None:
                    model = self._wanted_model()
                    if model is None:
                        raise SQLiteStoreError(
                            f"{self.path!r} is a new store: say which model its vectors come from (model=...)."
                        )
                    space = self.space_type or model.space_type
                    connection.execute(
                        "INSERT INTO store_info (singleton, schema_version, model_name, model_version, dimension, "
                        "space_type) VALUES (1, ?, ?, ?, ?, ?)",
                        (SCHEMA_VERSION, model.name, model.version, model.dimension, space),
                    )
                    row = (SCHEMA_VERSION, model.name, model.version, model.dimension, space)
                columns = {column[1] for column in connection.execute("PRAGMA table_info(store_info)")}
                for column, definition in _VECTOR_STATE:
                    if column not in columns:
                        connection.execute(f"ALTER TABLE store_info ADD COLUMN {column} {definition}")
                for statement in _VECTOR_TRIGGERS:
                    connection.execute(statement)
                connection.execute("UPDATE store_info SET store_id = randomblob(16) WHERE store_id IS NULL")
        except sqlite3.OperationalError as error:
            if "readonly" not in str(error):
                raise _not_a_store(self.path, error) from None
            raise SQLiteStoreError(
                f"Store {self.path!r} is read-only ({error}): opening it needs write access to the file and its "
                "directory (SQLite's WAL files); copy it somewhere writable or fix its permissions."
            ) from None
        except sqlite3.DatabaseError as error:
            raise _not_a_store(self.path, error) from None
        if row[0] > SCHEMA_VERSION:
            raise SQLiteStoreError(f"{self.path!r} was written by a newer opensearch-pretrained: upgrade it to read.")
        record = StoreModel(name=row[1], version=row[2], dimension=int(row[3]), space_type=row[4])
        model = self._wanted_model(record)
        if model is not None:
            space = self.space_type or model.space_type
            require_same_space(f"Store {self.path!r}", (record.dimension, record.space_type), model, space)
            wanted = StoreModel(model.name, model.version, model.dimension, space)
            require_same_model(f"Store {self.path!r}", record.identity(), wanted.identity())
        return record

    def _wanted_model(self, record: StoreModel | None = None) -> PretrainedModel | None:
        """The model asked for; without a version, the recorded one when the name matches the store's (the newest
        version only starts a new store)."""
        if not self.model:
            return None
        newest = get_model(self.model, self.version)
        if self.version is None and record is not None and newest.name == record.name:
            return get_model(record.name, record.version)
        return newest

    @contextmanager
    def _reading(self, *, vectors: bool = False) -> Iterator[sqlite3.Connection]:
        """One read transaction: everything read inside sees one snapshot, whatever writers do meanwhile.

        With ``vectors``, ``self._cache`` holds the vector copy of that snapshot: when the copy lags, the read
        becomes a write-locked one (no writer can change the rows while the copy catches up with them)."""
        connection = self._connect()
        with self._lock:
            connection.execute("BEGIN")
            try:
                if vectors and not self._vectors_current(connection):
                    connection.execute("COMMIT")
                    connection.execute("BEGIN IMMEDIATE")
                    self._refresh_vectors(connection, rebuild=True)
                yield connection
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")

    def _vector_state(self, connection: sqlite3.Connection) -> vector_cache.StoreState:
        store_id, generation, rewrites = connection.execute(
            "SELECT store_id, generation, rewrites FROM store_info"
        ).fetchone()
        return vector_cache.StoreState(bytes(store_id), int(generation), int(rewrites))

    def _vectors_current(self, connection: sqlite3.Connection) -> bool:
        """Whether the mapped copy holds this snapshot and passed its checksums (three ``stat`` calls when this
        process checked it already and its files have not changed since)."""
        state = self._vector_state(connection)
        path = Path(self.path)
        if self._cache is not None and self._cache.state == state and vector_cache.unchanged(path, self._cache):
            return True
        current = vector_cache.open_current(path, connection, state, self.store_model.dimension, self._cache)
        if current is not None:
            self._cache = current
        return current is not None

    def _refresh_vectors(
        self, connection: sqlite3.Connection, *, rebuild: bool, changes: vector_cache.Changes | None = None
    ) -> None:
        """Bring the vector copy up to the database (``connection`` holds the write lock)."""
        self._cache = vector_cache.refresh(
            Path(self.path), connection, self._vector_state(connection), self.store_model.dimension,
            rebuild=rebuild, previous=self._cache, changes=changes,
        )  # fmt: skip

    def _extend_vectors(self) -> None:
        """After a write, append its vectors to the copy while they are in the OS cache, and patch in what it
        deleted or replaced, so no search has to rebuild the copy after indexing, updates or deletes; a copy that
        cannot be patched is left for the next search."""
        connection = self._connect()
        with self._lock, _transaction(connection):
            changes, self._changes = self._changes, None
            self._refresh_vectors(connection, rebuild=False, changes=changes)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, which also advances the generation (so the vector copy follows) and records in
        ``self._changes`` which stored vectors it deleted or replaced."""
        connection = self._connect()
        with self._lock:
            with _transaction(connection):
                for statement in _REPLACED_LOG:
                    connection.execute(statement)
                connection.execute("DELETE FROM temp.replaced_vectors")
                before = self._vector_state(connection)
                yield connection
                connection.execute("UPDATE store_info SET generation = generation + 1")
                replaced = [int(row[0]) for row in connection.execute("SELECT DISTINCT pk FROM temp.replaced_vectors")]
                after = self._vector_state(connection)
            self._changes = vector_cache.Changes(before, after, replaced)

    def _row(self, document: Document, record: StoreModel) -> tuple[Any, ...]:
        vector = None
        if document.embedding is not None:
            if len(document.embedding) != record.dimension:
                raise IndexMismatchError(
                    f"Document {document.id} has a {len(document.embedding)}-dimensional embedding, but store "
                    f"{self.path!r} holds {record.dimension}-dimensional vectors of {record.name} {record.version}. "
                    "Nothing was written; embed with the store's model or use another store."
                )
            vector = np.asarray(document.embedding, np.float32).tobytes()
        extra = {}
        if document.blob is not None:
            extra["blob"] = document.blob.to_dict()
        if document.sparse_embedding is not None:
            extra["sparse_embedding"] = document.sparse_embedding.to_dict()
        return (
            document.id, document.content, json.dumps(document.meta), vector, json.dumps(extra) if extra else None
        )  # fmt: skip

    def _where(self, connection: sqlite3.Connection, filters: dict[str, Any] | None) -> SqlClause:
        """SQL for ``filters``; a filter SQL cannot express is matched by Haystack itself, row by row."""
        if not filters:
            return "1", []
        validate_filters(filters)
        clause = to_sql(filters)
        if clause is not None:
            return clause
        from haystack.utils.filters import document_matches_filter  # loads dateutil: only for this rare fallback

        keys: list[int] = []
        cursor = connection.execute(f"SELECT {_COLUMNS} FROM documents d ORDER BY d.pk")
        while rows := cursor.fetchmany(_ROWS_PER_FETCH):
            keys.extend(row[0] for row in rows if document_matches_filter(filters, _document(row)))
        return "d.pk IN (SELECT value FROM json_each(?))", [json.dumps(keys)]

    def _dense_hits(
        self, connection: sqlite3.Connection, query_embedding: list[float], filters: dict[str, Any] | None, top_k: int
    ) -> list[tuple[int, float]]:
        record = self.store_model
        query = np.asarray(query_embedding, np.float32)
        if query.shape != (record.dimension,):
            raise IndexMismatchError(
                f"The query embedding has {query.size} dimensions, but store {self.path!r} holds "
                f"{record.dimension}-dimensional vectors of {record.name} {record.version}: embed the query with "
                "the store's model."
            )
        if top_k <= 0:
            return []
        allowed = None
        if filters:
            where, params = self._where(connection, filters)
            matching = connection.execute(f"SELECT d.pk FROM documents d WHERE {where} ORDER BY d.pk", params)
            allowed = np.fromiter((row[0] for row in matching), np.int64)
        assert self._cache is not None, "dense searches read inside _reading(vectors=True)"
        return knn.nearest(self._cache, query, space_type=record.space_type, top_k=top_k, allowed=allowed)

    def _bm25_hits(
        self, connection: sqlite3.Connection, query: str, filters: dict[str, Any] | None, top_k: int
    ) -> list[tuple[int, float]]:
        terms = _TERM.findall(query)
        if not terms or top_k <= 0:
            return []
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        where, params = self._where(connection, filters)
        if not params and where == "1":  # no filter: the FTS5 index alone (joining each match costs 3x at 1M)
            rows = connection.execute(
                "SELECT rowid, -bm25(documents_fts) AS score FROM documents_fts WHERE documents_fts MATCH ? "
                "ORDER BY score DESC, rowid LIMIT ?",
                [match, top_k],
            )
        else:
            rows = connection.execute(
                "SELECT d.pk, -bm25(documents_fts) AS score FROM documents_fts JOIN documents d ON d.pk = "
                f"documents_fts.rowid WHERE documents_fts MATCH ? AND {where} ORDER BY score DESC, d.pk LIMIT ?",
                [match, *params, top_k],
            )
        return [(int(key), float(score)) for key, score in rows]

    def _documents(
        self, connection: sqlite3.Connection, hits: Sequence[tuple[int, float]], return_embedding: bool
    ) -> list[Document]:
        if not hits:
            return []
        rows = connection.execute(
            f"SELECT {_COLUMNS} FROM documents d WHERE d.pk IN (SELECT value FROM json_each(?))",
            (json.dumps([key for key, _ in hits]),),
        )
        by_key = {row[0]: row for row in rows}
        return [
            _document(by_key[key], score=score, with_embedding=return_embedding) for key, score in hits if key in by_key
        ]


def _not_a_store(path: str, error: sqlite3.DatabaseError) -> SQLiteStoreError:
    return SQLiteStoreError(
        f"{path!r} is not an SQLite store written by opensearch-pretrained ({error}). Pass another store path."
    )


@cache
def has_fts5() -> bool:
    """Whether this Python's SQLite was compiled with FTS5 (probed once, in memory)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE fts5_probe USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE: take the write lock up front (waiting up to the busy timeout), so two writers queue."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _require_filters(filters: dict[str, Any], operation: str, hint: str = "") -> None:
    if not filters:
        raise ValueError(f"{operation} needs filters: an empty filter would select every document{hint}.")


def _document(row: tuple[Any, ...], *, score: float | None = None, with_embedding: bool = True) -> Document:
    _, doc_id, content, meta, vector, extra = row
    data: dict[str, Any] = {"id": doc_id, "content": content, "meta": json.loads(meta), "score": score}
    if vector is not None and with_embedding:
        data["embedding"] = np.frombuffer(vector, np.float32).tolist()
    if extra:
        data.update(json.loads(extra))
    return Document.from_dict(data)
