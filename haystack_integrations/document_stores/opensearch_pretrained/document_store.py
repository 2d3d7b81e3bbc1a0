"""
A Haystack document store in one SQLite file and a vector file beside it.

The database holds documents, meta, BM25 (FTS5) and the model; the float32 vectors are in an append-only file whose
rows the database records (``vector_file``).

SQLite gives what a file of JSON lines could not: transactions (a ``kill -9`` mid-write loses only the
uncommitted batch, and the next run rewrites it), WAL mode (searches read while one process writes), a busy
timeout (a second writer waits for the first instead of failing), a primary key (a document is stored once,
whoever writes it) and FTS5 for BM25. The store records the model it holds vectors of and refuses others.

The store touches no file that is not its own. Its files carry a marker in the SQLite header (``application_id``),
read (read-only, immutable) before anything else, so another application's database is refused unchanged.
Reads use a read-only connection: they write nothing, never wait for a writer (WAL readers see the last committed
state) and work on a read-only file system. Only a write creates the schema, and only in a new or empty file.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import re
import sqlite3
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from haystack import Document, default_from_dict, default_to_dict
from haystack.document_stores.errors import DocumentStoreError, DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.opensearch_pretrained import knn, metadata, scoring, vector_file
from haystack_integrations.document_stores.opensearch_pretrained.async_operations import AsyncOperations
from haystack_integrations.document_stores.opensearch_pretrained.filters import SqlClause, to_sql, validate_filters
from haystack_integrations.document_stores.opensearch_pretrained.sparse_postings import (
    SparseOperations,
    validate_document,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.compatibility import (
    IndexMismatchError,
    ModelIdentity,
    require_same_model,
    require_same_space,
)
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.text_analysis import (
    DEFAULT_ANALYZER,
    TITLE_FIELD,
    Analyzer,
    analyzer_of_fts5,
    get_analyzer,
)

logger = logging.getLogger(__name__)

# 2: the vectors moved from a BLOB per row to the vector file (``vector_file``); a version 1 store is upgraded by its
# first writer.
SCHEMA_VERSION = 2
DEFAULT_BUSY_TIMEOUT = 600.0
WAL_CHECKPOINT_PAGES = 8192  # 32 MiB of 4 KiB pages
# The marker in every store file's SQLite header ("OSPH"): a file without it is someone else's and is not opened.
APPLICATION_ID = 0x4F535048
# One statement each: executescript() would commit, and the schema is created inside the creating transaction.
# BM25 reads a row's title (``meta["title"]``, when it has one) as a field beside its content, through the view
# documents_bm25: FTS5 scores the columns as one text (term counts and lengths summed), as OpenSearch scores
# ``content`` with the title copied in. Stores created before the title field index the content alone.
_FTS_TABLE = """CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, content, content='documents_bm25', content_rowid='pk', tokenize='{tokenizer}'
)"""
_BM25_VIEW = f"""CREATE VIEW documents_bm25 AS
    SELECT pk, json_extract(meta, '$.{TITLE_FIELD}') AS title, content FROM documents"""
_FTS_HAS_TITLE = re.compile(r"fts5\(\s*title\s*,")


class _Bm25Statements(NamedTuple):
    """What keeps one FTS5 layout in step with the rows (new rows are indexed by one statement per write)."""

    index_new_rows: str
    delete_trigger: str
    update_trigger: str


def _bm25_statements(titled: bool) -> _Bm25Statements:
    """The statements of the title-and-content layout, or (``titled=False``) of the content-only one."""
    columns = "title, content" if titled else "content"

    def values(row: str) -> str:
        return f"json_extract({row}.meta, '$.{TITLE_FIELD}'), {row}.content" if titled else f"{row}.content"

    delete = f"INSERT INTO documents_fts(documents_fts, rowid, {columns}) VALUES ('delete', old.pk, {values('old')});"
    return _Bm25Statements(
        f"INSERT INTO documents_fts(rowid, {columns}) SELECT pk, {columns} FROM "
        f"{'documents_bm25' if titled else 'documents'} WHERE pk > ?",
        f"CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN {delete} END",
        # Not on other columns: a moved vector leaves the BM25 index as it is (a meta update may change the title).
        f"CREATE TRIGGER documents_au AFTER UPDATE OF pk, content{', meta' if titled else ''} ON documents BEGIN "
        f"{delete} INSERT INTO documents_fts(rowid, {columns}) VALUES (new.pk, {values('new')}); END",
    )


_BM25 = {titled: _bm25_statements(titled) for titled in (True, False)}
_SCHEMA = (
    """CREATE TABLE store_info (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        schema_version INTEGER NOT NULL,
        model_name TEXT NOT NULL,
        model_version TEXT NOT NULL,
        dimension INTEGER NOT NULL,
        space_type TEXT NOT NULL,
        store_id BLOB NOT NULL,
        vector_file INTEGER NOT NULL DEFAULT 0,
        vector_count INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE documents (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        content TEXT,
        meta TEXT NOT NULL,
        vec_pos INTEGER UNIQUE,
        extra TEXT
    )""",
    # The BM25 index, created with the analyzer's FTS5 tokenizer (see _create), and the triggers that keep it in
    # step with the rows (new rows are indexed by index_new_rows, one statement per write: a trigger per row cost 3x).
    _BM25_VIEW,
    _FTS_TABLE,
    _BM25[True].delete_trigger,
    _BM25[True].update_trigger,
    # The vectors' bookkeeping (which rows of the vector file are committed, dead, and their checksums).
    *vector_file.SCHEMA,
)
_FTS_TOKENIZER = re.compile(r"tokenize\s*=\s*'([^']*)'")
_COLUMNS = "d.pk, d.id, d.content, d.meta, d.vec_pos, d.extra"
_ROWS_PER_FETCH = 1000


class SQLiteStoreError(OpenSearchPretrainedError, DocumentStoreError):
    """
    A store file that cannot be used.

    Not ours, a newer schema, or an SQLite without FTS5 (a Haystack ``DocumentStoreError``, as the errors of Haystack's
    own stores are).
    """


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


class SQLiteDocumentStore(AsyncOperations, SparseOperations):
    """
    Documents, meta, vectors and a BM25 index in one SQLite file, for one pretrained model's k-NN space.

    The store opens on first use (``__init__`` only records parameters) and ``close()`` releases it. Reads open
    the file read-only and need an existing store (an empty file reads as an empty store of ``model``, and writes
    nothing); the first write creates the store in a new or empty file, and
    needs ``model`` (and optionally ``version``/``space_type``, the catalog's by default). ``write_documents([])``
    creates (or checks) the store and writes nothing. An existing store records its own model, and opening it with
    another model (another name or version, see ``ModelIdentity``) raises ``IndexMismatchError``; a file that is
    not a store is refused unchanged.
    ``analyzer`` (``opensearch_pretrained_haystack.text_analysis``) is how a new store's BM25 analyzes text
    (``english`` by default); an existing store keeps the one it was created with.
    ``sparse_model`` (and ``sparse_version``) name the sparse encoder of the documents' ``sparse_embedding``s
    (a catalog model or an artifact path): the store records it with the first sparse embeddings and refuses
    another (see ``sparse_postings``).

    A relative ``path`` resolves against the working directory when the store is created, and ``to_dict`` records
    the resolved path, so a saved pipeline opens the same file wherever it is loaded.

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
        analyzer: str | None = None,
        sparse_model: str | None = None,
        sparse_version: str | None = None,
    ) -> None:
        """
        Record the parameters; the store opens on first use.

        :param path: The SQLite file; a relative path resolves against the working directory now.
        :param model: The catalog model whose vectors the store holds (needed to create a store).
        :param version: The model's version (default: the catalog's).
        :param space_type: The k-NN space (default: the catalog's for the model).
        :param busy_timeout: Seconds to wait for another process's write lock.
        :param analyzer: How a new store's BM25 analyzes text (``english`` by default).
        :param sparse_model: The sparse encoder of the documents' sparse embeddings: a catalog model or the path of
            its artifact (recorded with the first sparse embeddings; another one is refused).
        :param sparse_version: The sparse model's catalog version (default: the recorded one, else the newest).
        :raises ValueError: An unknown ``analyzer``.
        """
        if analyzer is not None:
            get_analyzer(analyzer)  # an unknown name fails here, not on first use
        self.path = os.path.abspath(path)
        self.model = model
        self.version = version
        self.space_type = space_type
        self.busy_timeout = busy_timeout
        self.analyzer = analyzer
        self.sparse_model = sparse_model
        self.sparse_version = sparse_version
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._record: StoreModel | None = None
        self._analysis: Analyzer | None = None
        self._bm25 = _BM25[True]  # the layout of the store's FTS5 index, read with its record (_check_record)
        self._lock = threading.RLock()
        self._vectors: vector_file.Vectors | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """
        Serialize the store's settings.

        :returns: The dictionary Haystack's ``default_to_dict`` makes.
        """
        return default_to_dict(
            self, path=self.path, model=self.model, version=self.version, space_type=self.space_type,
            busy_timeout=self.busy_timeout, analyzer=self.analyzer,
            **({"sparse_model": self.sparse_model, "sparse_version": self.sparse_version} if self.sparse_model else {}),
        )  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SQLiteDocumentStore:
        """
        Build a store from its serialized settings.

        :param data: What ``to_dict`` returned.
        :returns: The store.
        """
        return default_from_dict(cls, data)

    def close(self) -> None:
        """Release the connections and the mapped vectors; the store reopens on next use."""
        with self._lock:
            for connection in (self._reader, self._writer):
                if connection is not None:
                    connection.close()
            self._reader = self._writer = None
            self._vectors = None

    @property
    def store_model(self) -> StoreModel:
        """The model record of the store (opening it for reading if needed)."""
        with self._lock:
            if self._record is None:
                connection = self._connect(write=False)
                if connection is not self._reader:  # an empty file's store in memory (see _connect)
                    connection.close()
            assert self._record is not None
            return self._record

    @property
    def store_analyzer(self) -> Analyzer:
        """How the store's BM25 analyzes text, as recorded in its schema (opening it for reading if needed)."""
        _ = self.store_model  # reads the record and the analyzer together
        assert self._analysis is not None
        return self._analysis

    # -- DocumentStore protocol ----------------------------------------------------------------------------

    def count_documents(self) -> int:
        """
        How many documents the store holds.

        :returns: The count.
        """
        with self._reading() as connection:
            return int(connection.execute("SELECT count(*) FROM documents").fetchone()[0])

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """
        Documents matching Haystack ``filters`` (all of them without), in the order they were first written.

        :param filters: Haystack filters.
        :returns: The documents.
        """
        with self._reading(vectors=True) as connection:
            where, params = self._where(connection, filters)
            rows = connection.execute(f"SELECT {_COLUMNS} FROM documents d WHERE {where} ORDER BY d.pk", params)
            return [self._document(row) for row in rows]

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """
        Write ``documents`` in one transaction (all or none).

        The first write creates the store (an empty list too, which writes nothing, and checks or records the
        sparse model when ``sparse_model`` is given).

        :param documents: The documents.
        :param policy: What to do with an id already stored; NONE means FAIL.
        :returns: How many were written.
        :raises ValueError: ``documents`` is not a list of Documents, or a sparse weight a ``rank_features`` field
            refuses.
        :raises SQLiteStoreError: Sparse embeddings written into a store that records no sparse model, none named.
        :raises IndexMismatchError: The store holds another model's vectors or sparse embeddings.
        """
        if not isinstance(documents, list) or not all(isinstance(doc, Document) for doc in documents):
            raise ValueError("write_documents expects a list of Documents.")
        connection = self._connect(write=True)
        if not documents:
            if self.sparse_model is not None:  # another sparse model's store is refused now too
                with self._lock, _transaction(connection):
                    self._prepare_sparse(connection, writes_sparse=False)
            return 0
        record = self.store_model
        for document in documents:
            self._check_dimension(document, record)
            validate_document(document)
        policy = DuplicatePolicy(policy)
        policy = DuplicatePolicy.FAIL if policy == DuplicatePolicy.NONE else policy
        written = self._insert(
            documents, policy, writes_sparse=any(doc.sparse_embedding is not None for doc in documents)
        )
        if policy == DuplicatePolicy.OVERWRITE:
            self._compact_when_mostly_dead()
        return written

    def _insert(self, documents: list[Document], policy: DuplicatePolicy, *, writes_sparse: bool) -> int:
        """
        Insert the rows, and append their vectors to the vector file, in one transaction.

        The vectors are written and synced while SQLite inserts and indexes the rows (``vector_file.appending``).
        """
        insert = "INSERT INTO documents (id, content, meta, vec_pos, extra) VALUES (?, ?, ?, ?, ?)"
        with self._writing() as connection:
            self._prepare_sparse(connection, writes_sparse=writes_sparse)
            if policy == DuplicatePolicy.SKIP:  # dropped before their vectors are appended
                documents = self._not_stored(connection, documents)
            vectors = _float32_rows(documents, self.store_model.dimension)
            first = vector_file.read_state(connection).count  # the new vectors' rows in the vector file
            positions = itertools.count(first)  # in the order of ``vectors``
            last_key = connection.execute("SELECT coalesce(max(pk), 0) FROM documents").fetchone()[0]
            rows = (_row(doc, next(positions) if doc.embedding is not None else None) for doc in documents)
            with vector_file.appending(Path(self.path), connection, self.store_model.dimension, vectors):
                if policy == DuplicatePolicy.OVERWRITE:
                    connection.executemany(
                        insert + " ON CONFLICT(id) DO UPDATE SET content = excluded.content, meta = excluded.meta, "
                        "vec_pos = excluded.vec_pos, extra = excluded.extra",
                        rows,
                    )
                else:
                    try:
                        connection.executemany(insert, rows)
                    except sqlite3.IntegrityError as error:
                        raise DuplicateDocumentError(
                            f"A document with one of these ids is already stored: {error}"
                        ) from None
                # (an overwritten row is indexed again by its trigger)
                connection.execute(self._bm25.index_new_rows, (last_key,))
            return len(documents)

    def _not_stored(self, connection: sqlite3.Connection, documents: list[Document]) -> list[Document]:
        """``documents`` without those stored already, each id once (the first): what SKIP writes."""
        ids = json.dumps([document.id for document in documents])
        stored = connection.execute("SELECT id FROM documents WHERE id IN (SELECT value FROM json_each(?))", (ids,))
        seen = {row[0] for row in stored}
        kept = []
        for document in documents:
            if document.id not in seen:
                seen.add(document.id)
                kept.append(document)
        return kept

    def delete_documents(self, document_ids: list[str]) -> None:
        """
        Delete the documents with ``document_ids`` (unknown ids are ignored); their vectors become dead rows.

        :param document_ids: The ids to delete.
        """
        with self._writing() as connection:
            connection.executemany("DELETE FROM documents WHERE id = ?", [(doc_id,) for doc_id in document_ids])
        self._compact_when_mostly_dead()

    # -- Haystack 3.4's store operations (InMemoryDocumentStore's semantics and filters) ---------------------

    def delete_all_documents(self, recreate_index: bool = False) -> None:
        """
        Delete every document; the store keeps its model record.

        :param recreate_index: Also compact the file (``VACUUM``), so the space of the deleted rows goes back to the
            file system; otherwise SQLite keeps it for the next writes.
        """
        with self._writing() as connection:
            connection.execute("DELETE FROM documents")
        self._compact_when_mostly_dead()
        if recreate_index:
            with self._lock:
                self._connect(write=True).execute("VACUUM")

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """
        Delete the documents matching ``filters`` (Haystack's filter syntax).

        :param filters: Which documents to delete; must not be empty (``delete_all_documents`` deletes everything).
        :returns: The number of documents deleted.
        :raises ValueError: If ``filters`` is empty.
        :raises FilterError: If ``filters`` is malformed.
        """
        _require_filters(filters, "delete_by_filter", " (delete_all_documents() deletes everything)")
        with self._writing() as connection:
            where, params = self._where(connection, filters)
            deleted = int(connection.execute(f"DELETE FROM documents AS d WHERE {where}", params).rowcount)
        self._compact_when_mostly_dead()
        return deleted

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """
        Merge ``meta`` into the meta of the documents matching ``filters``.

        Top-level keys are replaced, as ``dict.update``. Content and vectors stay.

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
        return int(updated)

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        """
        The number of documents matching ``filters`` (all of them when empty).

        :param filters: Haystack filters.
        :returns: How many documents match.
        """
        with self._reading() as connection:
            where, params = self._where(connection, filters)
            return int(connection.execute(f"SELECT count(*) FROM documents d WHERE {where}", params).fetchone()[0])

    def count_unique_metadata_by_filter(self, filters: dict[str, Any], metadata_fields: list[str]) -> dict[str, int]:
        """
        How many distinct values each metadata field takes over the documents matching ``filters``.

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
        """
        The metadata fields of the stored documents and their types, inferred from the values.

        Types are ``keyword``, ``int``, ``float``, ``boolean``; a field with values of several types has the type of the
        last written document's value.

        :returns: Each field name and ``{"type": ...}``.
        """
        with self._reading() as connection:
            rows = connection.execute(
                "SELECT j.key, j.type, max(d.pk) AS last FROM documents d, json_each(d.meta) j "
                "WHERE j.type != 'null' GROUP BY j.key, j.type ORDER BY last"
            )
            return {key: {"type": metadata.FIELD_TYPES[json_type]} for key, json_type, _ in rows}

    def get_metadata_field_min_max(self, metadata_field: str) -> dict[str, Any]:
        """
        The smallest and largest value of a metadata field over all documents (numbers or strings).

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
        """
        The distinct values of a metadata field, ordered by their text, a page at a time.

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
        """
        Which of ``ids`` the store already holds (for resumable indexing).

        Only a writer asks, so the store is opened for writing, and created if new.

        :param ids: The ids asked about.
        :returns: Those the store holds.
        """
        self._connect(write=True)
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
        """
        Exact k-NN in the store's space: the ``top_k`` best vectors, scored as OpenSearch's k-NN scores them.

        :param query_embedding: The query's vector, from the store's model.
        :param filters: Haystack filters.
        :param top_k: How many documents.
        :param return_embedding: Whether the documents carry their vectors.
        :returns: The documents, best first, with ``score``.
        """
        with self._reading(vectors=True) as connection:
            hits = self._dense_hits(connection, query_embedding, filters, top_k)
            return self._documents(connection, hits, return_embedding)

    def bm25_retrieval(
        self, query: str, *, filters: dict[str, Any] | None = None, top_k: int = 10, return_embedding: bool = False
    ) -> list[Document]:
        """
        FTS5's BM25 (k1 1.2, b 0.75, as Lucene) over the query's terms, any of which may match.

        As OpenSearch's ``match``; the terms are analyzed by the store's analyzer (``store_analyzer``).

        :param query: The query text.
        :param filters: Haystack filters.
        :param top_k: How many documents.
        :param return_embedding: Whether the documents carry their vectors.
        :returns: The documents, best first, with ``score``.
        """
        with self._reading(vectors=return_embedding) as connection:
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
        lower_bounds: Sequence[scoring.LowerBound] | None = None,
        min_score: float | None = None,
        per_source: bool = scoring.DEFAULT_PER_SOURCE,
        return_embedding: bool = False,
    ) -> list[Document]:
        """
        BM25 and k-NN, each ``top_k`` deep, fused as OpenSearch's hybrid search pipelines fuse them.

        ``min_max`` or ``z_score`` (weights ``bm25_weight`` and ``1 - bm25_weight``), or ``rrf``.

        ``lower_bounds`` (``min_max`` only: BM25's, then k-NN's) and ``min_score`` (fused scores below it are
        dropped) are the normalization-processor's and the search request's own options (see ``scoring``).

        With ``per_source``, each side's passages are first grouped by source document (``meta["source_id"]``, as
        ``SourceDocumentCollapser`` groups them; a document without it stands for itself), the best passage
        standing for its source, so fusion ranks source documents: one found by both sides through different
        passages counts as found by both. A source is returned as its best k-NN passage (else its best BM25 one).

        :param query: The query text, for BM25.
        :param query_embedding: The query's vector, from the store's model, for k-NN.
        :param filters: Haystack filters.
        :param top_k: How many documents, and how deep each side searches.
        :param fusion: ``"min_max"``, ``"z_score"`` or ``"rrf"``.
        :param bm25_weight: BM25's weight in ``min_max`` and ``z_score`` fusion.
        :param rank_constant: The ``rrf`` rank constant.
        :param lower_bounds: ``min_max`` only: BM25's, then k-NN's lower bound.
        :param min_score: Fused scores below it are dropped.
        :param per_source: Fuse source documents instead of passages.
        :param return_embedding: Whether the documents carry their vectors.
        :returns: The documents, best first, with the fused ``score``.
        """
        scoring.check_fusion(fusion)
        if not 0.0 <= bm25_weight <= 1.0:
            raise ValueError("bm25_weight must lie between 0 and 1 (the dense weight is 1 - bm25_weight).")
        with self._reading(vectors=True) as connection:
            ranked = [
                self._bm25_hits(connection, query, filters, top_k),
                self._dense_hits(connection, query_embedding, filters, top_k),
            ]
            if per_source:
                ranked = _best_per_source(ranked, self._sources(connection, ranked))
            fused = scoring.fuse(
                ranked, fusion, weights=[bm25_weight, 1.0 - bm25_weight], rank_constant=rank_constant,
                lower_bounds=lower_bounds, min_score=min_score,
            )  # fmt: skip
            return self._documents(connection, fused[:top_k], return_embedding)

    # -- internals -----------------------------------------------------------------------------------------

    def _connect(self, *, write: bool) -> sqlite3.Connection:
        """
        The read-only connection, or (``write``) the writing one, opened on first use.

        An empty file (a store whose creator has not committed yet, or was killed first) reads as an empty store of
        ``model``, in memory and for this read only: nothing is written to it, and the next read looks at the file
        again.
        """
        with self._lock:
            connection = self._writer if write else self._reader
            if connection is None and not write and self.model and _inspect(self.path) == "empty":
                return self._empty_store()
            if connection is None:
                connection = self._open_writer() if write else self._open_reader()
                if write:
                    self._writer = connection
                else:
                    self._reader = connection
            return connection

    def _open_reader(self) -> sqlite3.Connection:
        """A read-only connection to an existing store: it writes nothing and takes no lock a writer holds."""
        _require_fts5()
        if _inspect(self.path) != "store":
            raise SQLiteStoreError(
                f"No store at {self.path!r} (missing or empty file): index documents into it first, or pass the "
                "path of an existing store."
            )
        connection = _connect_read_only(self.path, self.busy_timeout)
        try:
            self._record = self._check_record(connection)
            if _schema_version(connection) < SCHEMA_VERSION:
                connection.close()
                self._upgrade_for_reading()
                connection = _connect_read_only(self.path, self.busy_timeout)
        except BaseException:
            connection.close()
            raise
        return connection

    def _upgrade_for_reading(self) -> None:
        """
        Upgrade a store of an earlier schema through the writing connection.

        A reader opens it only for this: the old layout cannot be searched as it is.

        :raises SQLiteStoreError: If the store or its folder cannot be written.
        """
        if not (os.access(self.path, os.W_OK) and os.access(os.path.dirname(self.path), os.W_OK)):
            raise SQLiteStoreError(
                f"Store {self.path!r} was written by an earlier opensearch-pretrained and must be upgraded once, "
                "which needs write access to it and its folder: open it where it can be written."
            )
        self._connect(write=True)

    def _empty_store(self) -> sqlite3.Connection:
        connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._create(connection)
        self._record = self._check_record(connection)
        return connection

    def _open_writer(self) -> sqlite3.Connection:
        """A writing connection: to the existing store, or to a new one created in a missing or empty file."""
        _require_fts5()
        existing = _inspect(self.path) == "store"
        uri = Path(self.path).as_uri() + "?mode=rwc"
        try:
            connection = sqlite3.connect(
                uri, uri=True, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.DatabaseError as error:
            raise SQLiteStoreError(_cannot_create(self.path, error)) from None
        try:
            if not existing:
                self._create(connection)
            self._record = self._check_record(connection)
            # A store whose creator died before this switch is still in rollback mode, where readers wait. (Asked
            # before the first read, SQLite reports a WAL store as "delete", so this comes after the record.)
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses no committed transaction
            # Checkpoint every WAL_CHECKPOINT_PAGES, not SQLite's 1000: the pages several batches rewrite (FTS5
            # segments, index nodes) are copied into the file once, with fewer syncs (SQLite's part of writing 100k
            # documents: 1.05 -> 0.73 s).
            connection.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            if _schema_version(connection) < SCHEMA_VERSION:
                self._upgrade(connection)
        except sqlite3.DatabaseError as error:
            connection.close()
            raise SQLiteStoreError(_cannot_create(self.path, error)) from None
        except BaseException:
            connection.close()
            raise
        return connection

    def _upgrade(self, connection: sqlite3.Connection) -> None:
        """
        Move a version 1 store's vectors from their BLOBs into the vector file.

        One fully synced transaction (another process may have upgraded it meanwhile); then the old derived copy is
        removed and the BLOBs' space given back (``VACUUM``).
        """
        connection.execute("PRAGMA synchronous = FULL")
        try:
            with _transaction(connection):
                if _schema_version(connection) != 1:
                    return
                for trigger in ("documents_ai", "documents_au", "documents_vector_ad", "documents_vector_au"):
                    connection.execute(f"DROP TRIGGER IF EXISTS {trigger}")
                connection.execute("ALTER TABLE store_info DROP COLUMN generation")
                connection.execute("ALTER TABLE store_info DROP COLUMN rewrites")
                connection.execute("ALTER TABLE store_info ADD COLUMN vector_file INTEGER NOT NULL DEFAULT 0")
                connection.execute("ALTER TABLE store_info ADD COLUMN vector_count INTEGER NOT NULL DEFAULT 0")
                connection.execute("ALTER TABLE documents ADD COLUMN vec_pos INTEGER")
                connection.execute("CREATE UNIQUE INDEX documents_vec_pos ON documents (vec_pos)")
                for statement in (self._bm25.update_trigger, *vector_file.SCHEMA):
                    connection.execute(statement)
                vector_file.move_blobs(Path(self.path), connection, self.store_model.dimension)
                connection.execute("ALTER TABLE documents DROP COLUMN embedding")
                connection.execute("UPDATE store_info SET schema_version = ?", (SCHEMA_VERSION,))
        finally:
            connection.execute("PRAGMA synchronous = NORMAL")
        for suffix in ("-vectors", "-vector-keys", "-vector-sums", "-vector-dead"):
            Path(self.path + suffix).unlink(missing_ok=True)
        connection.execute("VACUUM")
        logger.info("Upgraded store %s: its vectors moved into %s-vectors.0.", self.path, self.path)

    def _create(self, connection: sqlite3.Connection) -> None:
        """
        Mark the file and create the schema in one transaction; the marker is in the first bytes ever written.

        Another process may have created the store meanwhile (then there is nothing to do) or written something else
        into the empty file (then it is refused and left as it is).
        """
        with _transaction(connection):
            marker = connection.execute("PRAGMA application_id").fetchone()[0]
            if marker == APPLICATION_ID:
                return
            if marker != 0 or connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise SQLiteStoreError(_foreign(self.path))
            model = self._wanted_model()
            if model is None:
                raise SQLiteStoreError(
                    f"{self.path!r} is a new store: say which model its vectors come from (model=...)."
                )
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            tokenizer = get_analyzer(self.analyzer or DEFAULT_ANALYZER).fts5_tokenizer
            for statement in _SCHEMA:
                connection.execute(statement.format(tokenizer=tokenizer) if statement is _FTS_TABLE else statement)
            connection.execute(
                "INSERT INTO store_info (singleton, schema_version, model_name, model_version, dimension, space_type, "
                "store_id) VALUES (1, ?, ?, ?, ?, ?, randomblob(16))",
                (SCHEMA_VERSION, model.name, model.version, model.dimension, self.space_type or model.space_type),
            )

    def _check_record(self, connection: sqlite3.Connection) -> StoreModel:
        """The store's model record, checked against the schema version this code reads and the wanted model."""
        try:
            row = connection.execute(
                "SELECT schema_version, model_name, model_version, dimension, space_type FROM store_info"
            ).fetchone()
        except sqlite3.DatabaseError as error:
            raise SQLiteStoreError(
                f"{self.path!r} carries the store marker but cannot be read as a store ({error}): pass another path."
            ) from None
        if row is None:
            raise SQLiteStoreError(
                f"{self.path!r} carries the store marker but has no model record: pass another path."
            )
        if row[0] > SCHEMA_VERSION:
            raise SQLiteStoreError(f"{self.path!r} was written by a newer opensearch-pretrained: upgrade it to read.")
        record = StoreModel(name=row[1], version=row[2], dimension=int(row[3]), space_type=row[4])
        model = self._wanted_model(record)
        if model is not None:
            space = self.space_type or model.space_type
            require_same_space(f"Store {self.path!r}", (record.dimension, record.space_type), model, space)
            wanted = StoreModel(model.name, model.version, model.dimension, space)
            require_same_model(f"Store {self.path!r}", record.identity(), wanted.identity())
        self._analysis = self._recorded_analyzer(connection)
        fts = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'documents_fts'").fetchone()
        self._bm25 = _BM25[bool(fts and _FTS_HAS_TITLE.search(fts[0]))]
        return record

    def _recorded_analyzer(self, connection: sqlite3.Connection) -> Analyzer:
        """The analyzer of the store's FTS5 index, read from its schema; another one asked for is refused."""
        row = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'documents_fts'").fetchone()
        tokenizer = _FTS_TOKENIZER.search(row[0]) if row else None
        found = analyzer_of_fts5(tokenizer.group(1)) if tokenizer else None
        if found is None:
            raise SQLiteStoreError(f"{self.path!r} has a BM25 index this opensearch-pretrained cannot read.")
        if self.analyzer is not None and self.analyzer != found.name:
            raise SQLiteStoreError(
                f"Store {self.path!r} analyzes BM25 text as {found.name!r}, not {self.analyzer!r}: drop "
                f"analyzer={self.analyzer!r} (or --analyzer) to use it as it is, or index into a new store."
            )
        return found

    def _wanted_model(self, record: StoreModel | None = None) -> PretrainedModel | None:
        """
        The model asked for.

        Without a version, the recorded one when the name matches the store's (the newest version only starts a new
        store).
        """
        if not self.model:
            return None
        newest = get_model(self.model, self.version)
        if self.version is None and record is not None and newest.name == record.name:
            return get_model(record.name, record.version)
        return newest

    @contextmanager
    def _reading(self, *, vectors: bool = False) -> Iterator[sqlite3.Connection]:
        """
        One read transaction on the read-only connection.

        Everything read inside sees one snapshot, whatever writers do meanwhile, and nothing waits for them. With
        ``vectors``, ``self._vectors`` holds the vector file's rows of that snapshot, mapped and checked.
        """
        with self._lock:
            connection = self._connect(write=False)
            in_file = connection is self._reader
            connection.execute("BEGIN")
            try:
                if vectors:
                    self._map_vectors(connection)
                yield connection
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")
                if not in_file:
                    connection.close()

    def _map_vectors(self, connection: sqlite3.Connection) -> None:
        """
        Map the vector file's rows of the snapshot ``connection`` reads.

        Two ``stat`` calls when this process checked them already and the files have not changed since. A compaction
        that removed the snapshot's file before it was opened moves the read on to the next snapshot.
        """
        path = Path(self.path)
        state = vector_file.read_state(connection)
        if self._vectors is not None and self._vectors.state == state and vector_file.unchanged(path, self._vectors):
            return
        while True:
            try:
                self._vectors = vector_file.load(path, connection, state, self.store_model.dimension, self._vectors)
                return
            except vector_file.VectorFileError:
                connection.execute("COMMIT")
                connection.execute("BEGIN")
                latest = vector_file.read_state(connection)
                if latest.file == state.file:
                    raise
                state = latest

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """
        One write transaction.

        A full disk or a file size limit (``ulimit -f``), hit by SQLite or by the vector file, is one
        ``SQLiteStoreError``: the transaction is rolled back whole.
        """
        connection = self._connect(write=True)
        try:
            with self._lock, _transaction(connection):
                yield connection
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
                raise
            raise SQLiteStoreError(_not_written(self.path, str(error))) from None
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise
            raise SQLiteStoreError(_not_written(self.path, error.strerror or str(error))) from None

    def _compact_when_mostly_dead(self) -> None:
        """
        After a delete or an overwrite: rewrite the vector file without its dead rows once they outnumber the live.

        The commit is fully synced before the old file is removed, so a power loss cannot leave the database naming a
        removed file. A compaction that fails (a full disk, a damaged file) leaves the store as it was, with one
        warning: the write before it is committed.
        """
        connection = self._connect(write=True)
        path = Path(self.path)
        with self._lock:
            connection.execute("PRAGMA synchronous = FULL")
            try:
                with _transaction(connection):
                    share = vector_file.dead_share(connection)
                    if share <= vector_file.MAX_DEAD_SHARE:
                        return
                    old = vector_file.compact(path, connection, self.store_model.dimension)
            except (OSError, vector_file.VectorFileError) as error:  # the write before is committed: not its failure
                logger.warning("The vector file of %s was not compacted (%s); it stays as it was.", self.path, error)
                return
            finally:
                connection.execute("PRAGMA synchronous = NORMAL")
            vector_file.remove_file(path, old)

    def _document(self, row: tuple[Any, ...], *, score: float | None = None, with_embedding: bool = True) -> Document:
        """The document of a row read with ``_COLUMNS``; its embedding from the mapped vector file."""
        _, doc_id, content, meta, position, extra = row
        data: dict[str, Any] = {"id": doc_id, "content": content, "meta": json.loads(meta), "score": score}
        if position is not None and with_embedding:
            assert self._vectors is not None, "documents with embeddings are read inside _reading(vectors=True)"
            data["embedding"] = self._vectors.vectors[position].tolist()
        if extra:
            data.update(json.loads(extra))
        return Document.from_dict(data)

    def _check_dimension(self, document: Document, record: StoreModel) -> None:
        if document.embedding is not None and len(document.embedding) != record.dimension:
            raise IndexMismatchError(
                f"Document {document.id} has a {len(document.embedding)}-dimensional embedding, but store "
                f"{self.path!r} holds {record.dimension}-dimensional vectors of {record.name} {record.version}. "
                "Nothing was written; embed with the store's model or use another store."
            )

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
            matches = (document_matches_filter(filters, self._document(row, with_embedding=False)) for row in rows)
            keys.extend(row[0] for row, match in zip(rows, matches, strict=True) if match)
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
            matching = connection.execute(
                f"SELECT d.vec_pos FROM documents d WHERE {where} AND d.vec_pos IS NOT NULL ORDER BY d.vec_pos", params
            )
            allowed = np.fromiter((row[0] for row in matching), np.int64)
        assert self._vectors is not None, "dense searches read inside _reading(vectors=True)"
        hits = knn.nearest(self._vectors, query, space_type=record.space_type, top_k=top_k, allowed=allowed)
        # Ties rank by the documents' order of writing (their row keys), as filter_documents lists them.
        keys = dict(
            connection.execute(
                "SELECT vec_pos, pk FROM documents WHERE vec_pos IN (SELECT value FROM json_each(?))",
                (json.dumps([position for position, _ in hits]),),
            ).fetchall()
        )
        return sorted(((keys[position], score) for position, score in hits), key=lambda hit: (-hit[1], hit[0]))[:top_k]

    def _bm25_hits(
        self, connection: sqlite3.Connection, query: str, filters: dict[str, Any] | None, top_k: int
    ) -> list[tuple[int, float]]:
        terms = self.store_analyzer.query_terms(query)
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

    def _sources(self, connection: sqlite3.Connection, ranked: list[list[tuple[int, float]]]) -> dict[int, str]:
        """The source document id of each hit's passage (its own id when it has no ``source_id``)."""
        keys = json.dumps(sorted({key for hits in ranked for key, _ in hits}))
        rows = connection.execute(
            "SELECT pk, coalesce(json_extract(meta, '$.source_id'), id) FROM documents "
            "WHERE pk IN (SELECT value FROM json_each(?))",
            (keys,),
        )
        return {int(key): str(source) for key, source in rows}

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
            self._document(by_key[key], score=score, with_embedding=return_embedding)
            for key, score in hits
            if key in by_key
        ]


def _best_per_source(ranked: list[list[tuple[int, float]]], sources: dict[int, str]) -> list[list[tuple[int, float]]]:
    """
    Each list of (key, score) hits, best first, cut to the best hit of each source, under one key per source.

    The key of its first hit in the last list that has one (the k-NN side, in hybrid's order).
    """
    representative: dict[str, int] = {}
    for hits in reversed(ranked):
        for key, _ in hits:
            representative.setdefault(sources[key], key)
    grouped = []
    for hits in ranked:
        seen: set[str] = set()
        best = []
        for key, score in hits:
            source = sources[key]
            if source not in seen:
                seen.add(source)
                best.append((representative[source], score))
        grouped.append(best)
    return grouped


def _inspect(path: str) -> str:
    """
    What the file at ``path`` is.

    ``"missing"`` or ``"empty"`` (a store may be created there), ``"store"`` (its header carries the marker); any other
    file raises ``SQLiteStoreError``.

    The header is read by SQLite itself, read-only and ``immutable`` (no lock, no WAL index, nothing written): a
    plain ``open()``/``close()`` of the file would drop the POSIX locks of this process's other connections to it,
    and a writer elsewhere could then checkpoint away a WAL they still read.
    """
    if os.path.isdir(path):
        raise SQLiteStoreError(
            f"Store path {path!r} is a directory: give the path of a store file in it, such as "
            f"{os.path.join(path, 'store.sqlite')!r}."
        )
    try:
        if os.stat(path).st_size == 0:
            return "empty"
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        raise SQLiteStoreError(f"Store {path!r} cannot be read: {error.strerror or error}.") from None
    probe = sqlite3.connect(Path(path).as_uri() + "?mode=ro&immutable=1", uri=True)
    try:
        marker = probe.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as error:
        if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_NOTADB:
            raise SQLiteStoreError(f"Store {path!r} cannot be read: {error}.") from None
        marker = None
    finally:
        probe.close()
    if marker != APPLICATION_ID:
        raise SQLiteStoreError(_foreign(path))
    return "store"


def _cannot_create(path: str, error: sqlite3.DatabaseError) -> str:
    return (
        f"Cannot open or create the store file {path!r} ({error}): check that its directory exists and that you may "
        "write there."
    )


def _foreign(path: str) -> str:
    return (
        f"{path!r} is not a store written by opensearch-pretrained (no store marker in its header); it was not "
        "opened or changed. Pass a new file or an existing store."
    )


def _connect_read_only(path: str, busy_timeout: float) -> sqlite3.Connection:
    """
    Open ``path`` read-only.

    On a read-only file system SQLite cannot create the WAL index beside a WAL store; with no write-ahead log there (so
    no writer), the file is opened as immutable, which needs none.
    """
    uri = Path(path).as_uri() + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError as error:
        connection.close()
        cannot_open = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_CANTOPEN
        if not cannot_open or os.access(os.path.dirname(path), os.W_OK) or os.path.exists(path + "-wal"):
            raise SQLiteStoreError(f"Store {path!r} cannot be opened for reading: {error}.") from None
        connection = sqlite3.connect(
            uri + "&immutable=1", uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    return connection


def _schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT schema_version FROM store_info").fetchone()[0])


def _require_fts5() -> None:
    if sqlite3.sqlite_version_info < (3, 35) or not has_fts5():
        raise SQLiteStoreError(
            f"This Python's SQLite ({sqlite3.sqlite_version}) lacks FTS5 (or is older than 3.35), which the "
            "embedded store needs for BM25. Use a Python build whose sqlite3 has FTS5 (CPython's official "
            "builds do), or index into OpenSearch instead."
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
        if connection.in_transaction:  # SQLite rolls back by itself after an I/O error or a full disk
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _require_filters(filters: dict[str, Any], operation: str, hint: str = "") -> None:
    if not filters:
        raise ValueError(f"{operation} needs filters: an empty filter would select every document{hint}.")


def _row(document: Document, position: int | None) -> tuple[Any, ...]:
    """The ``documents`` row of ``document``, its vector at ``position`` of the vector file."""
    extra = {}
    if document.blob is not None:
        extra["blob"] = document.blob.to_dict()
    if document.sparse_embedding is not None:
        extra["sparse_embedding"] = document.sparse_embedding.to_dict()
    meta = json.dumps(document.meta) if document.meta else "{}"
    return document.id, document.content, meta, position, json.dumps(extra) if extra else None


def _float32_rows(documents: list[Document], dimension: int) -> npt.NDArray[np.float32]:
    """
    The embeddings of the documents that have one, as float32 rows: each number rounded as numpy rounds it (C's cast).

    ``struct``'s native ``f`` packs a row of Python floats at C speed: 1.6x numpy's ``fromiter`` on a 2-core box. No
    object outlives its row: objects kept per document would make Python's collector walk every stored list again.

    :raises ValueError: An embedding holds something that is not a number.
    """
    rows = np.empty((sum(document.embedding is not None for document in documents), dimension), np.float32)
    pack, buffer, offset = struct.Struct(f"{dimension}f").pack_into, rows.data, 0
    for document in documents:
        if document.embedding is not None:
            try:
                pack(buffer, offset, *document.embedding)
            except struct.error:
                raise ValueError(
                    f"Document {document.id} has an embedding holding something that is not a number; nothing was "
                    "written."
                ) from None
            offset += dimension * 4
    return rows


def _not_written(path: str, reason: str) -> str:
    return (
        f"Store {path!r} could not be written ({reason}: a full disk or a file size limit?); this batch was rolled "
        "back and every earlier one is kept: free space and run again to go on."
    )
