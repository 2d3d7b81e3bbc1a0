"""
Sparse embeddings in the SQLite store, searched as OpenSearch's ``neural_sparse`` query scores ``rank_features``.

Storage. A document's ``SparseEmbedding`` stays in its row (``extra``, as before); ``sparse_postings`` holds one row
per (token, document): ``PRIMARY KEY (token, pk)``, ``WITHOUT ROWID``, so a query reads each of its tokens' postings
as one range. Triggers on ``documents`` keep the postings in step with the rows inside the writing transaction,
whoever writes (upserts, ``delete_by_filter``, another process): a ``kill -9`` loses the uncommitted batch whole,
and two writers queue on SQLite's write lock as they do for the rows. The tables are added to a store the first
time sparse embeddings are written into it (existing rows are indexed in that same transaction), so stores made
before keep working. ``sparse_model`` records which model made the embeddings: two models' embeddings never share
a store.

Scoring (neural-search's ``NeuralSparseQueryBuilder``: one ``FeatureField.newLinearQuery`` per query token, SHOULD
clauses of a ``BooleanQuery``): a document weight is stored by Lucene's ``FeatureField`` with 9 significant bits
(the float32 bits shifted right by 15), each clause scores ``float32(query weight × stored weight)``, the clauses'
scores are summed in double and the sum is reported as float32. The store computes exactly that, so its scores are
the cluster's for the same maps. Like the cluster, it refuses document weights that are not positive normal
float32 numbers (``FeatureField``) and query weights outside (0, 64] (``newLinearQuery``).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from haystack import Document
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.document_stores.opensearch_pretrained import scoring
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.compatibility import IndexMismatchError
from opensearch_pretrained_haystack.errors import UnknownModelError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from haystack_integrations.document_stores.opensearch_pretrained.document_store import SQLiteDocumentStore

# Lucene's FeatureField keeps the float32 bits of a feature value shifted right by 15 (9 significant bits).
_FEATURE_MASK = np.uint32(0xFFFF8000)
_MAX_QUERY_WEIGHT = 64.0  # FeatureField.newLinearQuery refuses weights outside (0, 64]
_FLOAT32_MIN_NORMAL = float(np.finfo(np.float32).tiny)

_POSTINGS_TABLE = """CREATE TABLE sparse_postings (
    token INTEGER NOT NULL,
    pk INTEGER NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (token, pk)
) WITHOUT ROWID"""
# Each index with its value looked up by position: a join of the two json_each tables costs 14x more (a nested
# loop that parses the values again for every index).
_POSTINGS_OF = """SELECT i.value, {row}.pk, json_extract({row}.extra, '$.sparse_embedding.values[' || i.key || ']')
    FROM json_each({row}.extra, '$.sparse_embedding.indices') i"""
_DELETE_POSTINGS_OF_OLD = """DELETE FROM sparse_postings WHERE pk = old.pk
    AND token IN (SELECT value FROM json_each(old.extra, '$.sparse_embedding.indices'))"""
_SCHEMA = (
    """CREATE TABLE sparse_model (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        artifact_sha256 TEXT NOT NULL
    )""",
    _POSTINGS_TABLE,
    f"""CREATE TRIGGER sparse_postings_ai AFTER INSERT ON documents WHEN new.extra IS NOT NULL BEGIN
        INSERT INTO sparse_postings (token, pk, weight) {_POSTINGS_OF.format(row="new")};
    END""",
    f"""CREATE TRIGGER sparse_postings_ad AFTER DELETE ON documents WHEN old.extra IS NOT NULL BEGIN
        {_DELETE_POSTINGS_OF_OLD};
    END""",
    f"""CREATE TRIGGER sparse_postings_au AFTER UPDATE OF pk, extra ON documents
    WHEN old.extra IS NOT new.extra OR old.pk != new.pk BEGIN
        {_DELETE_POSTINGS_OF_OLD};
        INSERT INTO sparse_postings (token, pk, weight) {_POSTINGS_OF.format(row="new")};
    END""",
    # The rows written before the store had sparse postings (their embeddings were kept in ``extra``).
    "INSERT INTO sparse_postings (token, pk, weight) SELECT i.value, d.pk, "
    "json_extract(d.extra, '$.sparse_embedding.values[' || i.key || ']') FROM documents d, "
    "json_each(d.extra, '$.sparse_embedding.indices') i WHERE d.extra IS NOT NULL",
)


@dataclass(frozen=True)
class SparseModelRecord:
    """
    The sparse encoder whose document embeddings a store holds, as recorded in the store.

    A catalog model is its name and version; a custom artifact (a directory or zip) also carries the SHA-256 of its
    zip, as ``ModelIdentity`` tells custom dense models apart.
    """

    name: str
    version: str
    artifact_sha256: str = ""

    def label(self) -> str:
        """How a message names the model."""
        suffix = f" (artifact sha256 {self.artifact_sha256[:12]})" if self.artifact_sha256 else ""
        return f"{self.name} {self.version}{suffix}"


def sparse_model_record(model: str, version: str | None, recorded: SparseModelRecord | None) -> SparseModelRecord:
    """
    The record of ``model``, to compare with (or write into) a store.

    ``model`` is a catalog name or alias (without ``version``, the recorded version when the store holds that model,
    else the newest), or the path of a sparse artifact (its directory or zip).

    :param model: A catalog sparse model, or the path of an artifact directory or zip.
    :param version: The catalog version.
    :param recorded: What the store records, if anything.
    :returns: The record to compare with (or to write into) the store.
    :raises UnknownModelError: If ``model`` is neither a catalog model nor an existing path.
    """
    if Path(model).expanduser().exists():
        from opensearch_pretrained_haystack.inference.sparse_tokenizer import resolve_sparse_artifact

        artifact = resolve_sparse_artifact(Path(model).expanduser(), version, progress_bar=False)
        return SparseModelRecord(artifact.name, artifact.version, artifact.sha256)
    try:
        newest = get_model(model, version)
    except UnknownModelError as error:
        raise UnknownModelError(f"Sparse model {model!r}: {error}") from None
    if version is None and recorded is not None and recorded.name == newest.name and not recorded.artifact_sha256:
        return SparseModelRecord(recorded.name, recorded.version)
    return SparseModelRecord(newest.name, newest.version)


def validate_document(document: Document) -> None:
    """
    Refuse, before anything is written, a sparse embedding a ``rank_features`` field would refuse.

    :param document: A document about to be written (one without a sparse embedding passes).
    :raises ValueError: For a repeated index, or a weight that is not a positive normal float32 number.
    """
    embedding = document.sparse_embedding
    if embedding is None:
        return
    if len(set(embedding.indices)) != len(embedding.indices):
        raise ValueError(
            f"Document {document.id} has a sparse embedding with a repeated index; a rank_features field (and this "
            "store) holds one weight per token. Nothing was written."
        )
    values = np.asarray(embedding.values, np.float64)
    bad = ~(np.isfinite(values) & (values.astype(np.float32) >= _FLOAT32_MIN_NORMAL))
    if bad.any():
        position = int(np.argmax(bad))
        raise ValueError(
            f"Document {document.id} has the sparse weight {embedding.values[position]!r} at index "
            f"{embedding.indices[position]}; rank_features (and this store) hold positive normal float32 weights "
            "only. Nothing was written."
        )


def query_weights(query: SparseEmbedding) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, Any]]:
    """
    The query's tokens (ascending) and float32 weights, checked as ``neural_sparse`` checks them.

    :param query: The query's sparse embedding.
    :returns: Tokens and weights, sorted by token.
    :raises ValueError: For a repeated index or a weight outside (0, 64].
    """
    tokens = np.asarray(query.indices, np.int64)
    weights = np.asarray(query.values, np.float64).astype(np.float32)
    if len(np.unique(tokens)) != len(tokens):
        raise ValueError("The query's sparse embedding has a repeated index: give one weight per token.")
    bad = ~((weights > 0) & (weights <= _MAX_QUERY_WEIGHT))
    if bad.any():
        position = int(np.argmax(bad))
        raise ValueError(
            f"The query's sparse weight {query.values[position]!r} (index {query.indices[position]}) is outside "
            "(0, 64], which OpenSearch's neural_sparse query refuses too."
        )
    order = np.argsort(tokens, kind="stable")
    return tokens[order], weights[order]


def stored_weights(values: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """
    Document weights as Lucene's ``FeatureField`` stores them: float32, 9 significant bits (truncated).

    :param values: Document weights.
    :returns: The weights the cluster scores with.
    """
    bits = np.asarray(values, np.float64).astype(np.float32).view(np.uint32) & _FEATURE_MASK
    return bits.view(np.float32)


def rank(
    tokens: np.ndarray[Any, np.dtype[np.int64]],
    query: np.ndarray[Any, np.dtype[np.float32]],
    postings: np.ndarray[Any, np.dtype[np.float64]],
    *,
    allowed: np.ndarray[Any, np.dtype[np.int64]] | None,
    top_k: int,
) -> list[tuple[int, float]]:
    """
    The ``top_k`` best documents of the postings of the query's tokens, scored as the cluster scores them.

    Equal scores go to the document written first (the smaller pk).

    :param tokens: The query's tokens, ascending.
    :param query: Their float32 weights.
    :param postings: The stored postings of those tokens, one (token, pk, weight) row each.
    :param allowed: The pks a filter lets through (all when None).
    :param top_k: How many hits to keep.
    :returns: (pk, score), best first.
    """
    if not len(postings) or top_k <= 0:
        return []
    keys = postings[:, 1].astype(np.int64)
    clause_scores = query[np.searchsorted(tokens, postings[:, 0].astype(np.int64))] * stored_weights(postings[:, 2])
    documents, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=clause_scores.astype(np.float64)).astype(np.float32)
    if allowed is not None:
        keep = np.isin(documents, allowed)
        documents, sums = documents[keep], sums[keep]
    order = np.lexsort((documents, -sums))[:top_k]
    return [(int(documents[i]), float(sums[i])) for i in order]


class SparseOperations:
    """The store's sparse search: ``sparse_retrieval`` and ``sparse_hybrid_retrieval`` (mixed into the store)."""

    @property
    def _sparse_store(self) -> SQLiteDocumentStore:
        return cast("SQLiteDocumentStore", self)  # the one class this is mixed into

    @property
    def stored_sparse_model(self) -> SparseModelRecord | None:
        """The sparse model the store holds embeddings of; None when it holds none."""
        with self._sparse_store._reading() as connection:
            return read_record(connection)

    def sparse_retrieval(
        self,
        query_sparse_embedding: SparseEmbedding,
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        return_embedding: bool = False,
    ) -> list[Document]:
        """
        The ``top_k`` documents whose sparse embeddings score best against the query's.

        Scored exactly as OpenSearch's ``neural_sparse`` query scores a ``rank_features`` field holding the same
        maps (see the module's docstring).

        :param query_sparse_embedding: The query's sparse embedding (of the same vocabulary as the documents').
        :param filters: Haystack filters the documents must match.
        :param top_k: How many documents to return at most.
        :param return_embedding: Whether the documents carry their dense embeddings.
        :returns: The documents, best first, each with its ``score``.
        :raises ValueError: For a query weight OpenSearch refuses (see ``query_weights``).
        :raises IndexMismatchError: If the store holds another sparse model's embeddings than ``sparse_model``.
        """
        store = self._sparse_store
        with store._reading(vectors=return_embedding) as connection:
            hits = self._sparse_hits(connection, query_sparse_embedding, filters, top_k)
            return store._documents(connection, hits, return_embedding)

    def sparse_hybrid_retrieval(
        self,
        query_sparse_embedding: SparseEmbedding,
        *,
        query: str | None = None,
        query_embedding: list[float] | None = None,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        fusion: str = scoring.DEFAULT_FUSION,
        weights: Sequence[float] | None = None,
        rank_constant: int = scoring.DEFAULT_RANK_CONSTANT,
        lower_bounds: Sequence[scoring.LowerBound] | None = None,
        min_score: float | None = None,
        return_embedding: bool = False,
    ) -> list[Document]:
        """
        Sparse search fused with BM25 on ``query`` and/or k-NN on ``query_embedding``.

        Each sub-query is ``top_k`` deep; the fusions are ``hybrid_retrieval``'s (OpenSearch's hybrid search
        pipelines).

        :param query_sparse_embedding: The query's sparse embedding.
        :param query: The query text for BM25 (none: no BM25 sub-query).
        :param query_embedding: The query's dense embedding (none: no k-NN sub-query).
        :param filters: Haystack filters every sub-query applies.
        :param top_k: How many documents to return at most.
        :param fusion: ``min_max``, ``z_score`` or ``rrf``.
        :param weights: ``min_max``/``z_score`` weights in sub-query order (BM25, k-NN, sparse, those present);
            equal weights by default.
        :param rank_constant: ``rrf``'s rank constant.
        :param lower_bounds: ``min_max`` only: one bound per sub-query, in sub-query order.
        :param min_score: Fused scores below it are dropped.
        :param return_embedding: Whether the documents carry their dense embeddings.
        :returns: The documents, best first, each with its fused ``score``.
        :raises ValueError: With neither ``query`` nor ``query_embedding``, or weights or bounds that do not match
            the sub-queries.
        """
        if query is None and query_embedding is None:
            raise ValueError("Hybrid sparse search needs query (BM25) and/or query_embedding (k-NN) besides sparse.")
        count = 1 + (query is not None) + (query_embedding is not None)
        for name, given in (("weights", weights), ("lower_bounds", lower_bounds)):
            if given is not None and len(given) != count:
                raise ValueError(f"{name} takes one value per sub-query ({count}: BM25, k-NN, sparse, those given).")
        store = self._sparse_store
        with store._reading(vectors=query_embedding is not None or return_embedding) as connection:
            ranked = []
            if query is not None:
                ranked.append(store._bm25_hits(connection, query, filters, top_k))
            if query_embedding is not None:
                ranked.append(store._dense_hits(connection, query_embedding, filters, top_k))
            ranked.append(self._sparse_hits(connection, query_sparse_embedding, filters, top_k))
            fused = scoring.fuse(
                ranked, fusion, weights=weights, rank_constant=rank_constant, lower_bounds=lower_bounds,
                min_score=min_score,
            )  # fmt: skip
            return store._documents(connection, fused[:top_k], return_embedding)

    def _sparse_hits(
        self, connection: sqlite3.Connection, query: SparseEmbedding, filters: dict[str, Any] | None, top_k: int
    ) -> list[tuple[int, float]]:
        store = self._sparse_store
        tokens, weights = query_weights(query)
        recorded = read_record(connection)
        if recorded is None:  # no sparse embedding was ever written
            return []
        self._require_sparse_model(recorded)
        if top_k <= 0 or not len(tokens):
            return []
        allowed = None
        if filters:
            where, params = store._where(connection, filters)
            matching = connection.execute(f"SELECT d.pk FROM documents d WHERE {where}", params)
            allowed = np.fromiter((row[0] for row in matching), np.int64)
        rows = connection.execute(
            "SELECT token, pk, weight FROM sparse_postings WHERE token IN (SELECT value FROM json_each(?))",
            (json.dumps(tokens.tolist()),),
        )
        # Straight from the cursor into one array: a list of row tuples first would double the time.
        postings = np.fromiter(itertools.chain.from_iterable(rows), np.float64).reshape(-1, 3)
        return rank(tokens, weights, postings, allowed=allowed, top_k=top_k)

    def _require_sparse_model(self, recorded: SparseModelRecord) -> None:
        """Refuse a store whose sparse embeddings come from another model than the one it was opened with."""
        store = self._sparse_store
        if store.sparse_model is None:
            return
        wanted = sparse_model_record(store.sparse_model, store.sparse_version, recorded)
        if wanted != recorded:
            raise IndexMismatchError(
                f"Store {store.path!r} holds sparse embeddings of {recorded.label()}, not {wanted.label()}: two "
                "models' embeddings never share a store. Use the model it was built with, or another store file for "
                "this one."
            )

    def _prepare_sparse(self, connection: sqlite3.Connection, *, writes_sparse: bool) -> None:
        """
        Inside a write transaction: check (or record) the sparse model.

        The first time sparse embeddings are written, the sparse tables are added to the store (indexing its rows).

        :param connection: The writing connection, inside its transaction.
        :param writes_sparse: Whether the write holds sparse embeddings.

        :raises SQLiteStoreError: If sparse embeddings are written into a store that records no sparse model and
            none was named (``sparse_model``).
        :raises IndexMismatchError: If the store holds another sparse model's embeddings.
        """
        store = self._sparse_store
        recorded = read_record(connection)
        if recorded is not None:
            self._require_sparse_model(recorded)
            return
        if store.sparse_model is None:
            if not writes_sparse:
                return
            from haystack_integrations.document_stores.opensearch_pretrained.document_store import SQLiteStoreError

            raise SQLiteStoreError(
                f"Store {store.path!r} gets its first sparse embeddings: say which model made them "
                "(sparse_model=..., or --sparse-encoder). Nothing was written."
            )
        record = sparse_model_record(store.sparse_model, store.sparse_version, None)
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO sparse_model (singleton, name, version, artifact_sha256) VALUES (1, ?, ?, ?)",
            (record.name, record.version, record.artifact_sha256),
        )


def read_record(connection: sqlite3.Connection) -> SparseModelRecord | None:
    """
    The store's sparse model record; None when it holds no sparse embeddings yet.

    :param connection: A connection to the store, inside a transaction.
    :returns: The record, or None.
    """
    try:
        row = connection.execute("SELECT name, version, artifact_sha256 FROM sparse_model").fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        return None
    return None if row is None else SparseModelRecord(*row)
