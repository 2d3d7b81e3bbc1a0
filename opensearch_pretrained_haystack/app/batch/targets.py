"""
Where the batch job writes and ``search`` reads: the embedded store file or an OpenSearch index.

The target is either an OpenSearch index (built for the model by ``indices.knn.document_store_for``) or the
embedded default: an ``SQLiteDocumentStore`` file (dense, BM25, sparse and hybrid search with no cluster). Opening
either checks first that it was built for the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.batch.bulk_writes import bulk_write, ids_in_index
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.indices.knn import document_store_for
from opensearch_pretrained_haystack.indices.sparse import (
    SparseEncoding,
    SparseFieldType,
    require_recorded_encoder,
    require_sparse_field,
    sparse_document_store,
)
from opensearch_pretrained_haystack.inference.sparse_tokenizer import (
    SparseVocabulary,
    resolve_sparse_artifact,
    vocabulary_of,
)
from opensearch_pretrained_haystack.text_analysis import DEFAULT_ANALYZER


@dataclass(frozen=True)
class Target:
    """
    Where passages go: the embedded store file, or an OpenSearch index.

    For an index: ``hosts`` and ``index``; ``replicas`` for a new index, None for the cluster's default.
    """

    store_path: Path | None = None
    hosts: str | None = None
    index: str | None = None
    replicas: int | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    """TLS for ``hosts``: certificates are verified (against ``ca_certs`` when given) unless this is False."""
    sparse: SparseEncoding | None = None
    """A neural sparse index instead of a k-NN one: the cluster encodes passages at ingest (no local vectors)."""
    compression: str | None = None
    """A new k-NN index keeps its graph ``on_disk`` at this ``compression_level`` (``"4x"``, ...), rescored."""
    analyzer: str | None = None
    """BM25 analysis of a new store or index (``text_analysis``; None: the default); an existing one keeps its own."""
    sparse_encoder: str | None = None
    """A sparse encoder (catalog name or alias, or an artifact directory) that encodes passages on this machine: into
    the store beside the dense vectors, or into a sparse OpenSearch index (precomputed ``rank_features``, no ingest
    pipeline) instead of k-NN ones."""
    sparse_query: str | None = None
    """The store's sparse and hybrid search: the model that encodes queries (a query tokenizer, or a bi-encoder);
    None: the catalog's ``search_with`` of the store's sparse model."""

    def tls(self) -> dict[str, Any]:
        """``verify_certs``/``ca_certs`` for every client of this target (store, embedder, preflight)."""
        return {"verify_certs": self.verify_certs, "ca_certs": self.ca_certs}

    def new_index_options(self) -> dict[str, Any]:
        """``document_store_for``'s options for a new k-NN index of this target (replicas, compression, analyzer)."""
        compressed = {"mode": "on_disk", "compression_level": self.compression} if self.compression else {}
        return {"number_of_replicas": self.replicas, "analyzer": self.analyzer or DEFAULT_ANALYZER, **compressed}

    def opensearch_index(self) -> tuple[str, str]:
        """``(hosts, index)`` of an OpenSearch target."""
        if self.hosts is None or self.index is None:
            raise ValueError("This target is the embedded store, not an OpenSearch index.")
        return self.hosts, self.index

    def __post_init__(self) -> None:
        if (self.store_path is None) == (self.hosts is None):
            raise ValueError("Give either a store file path or an OpenSearch URL (with an index name), not both.")
        if self.hosts is not None and not self.index:
            raise ValueError("An OpenSearch target needs an index name (--index NAME).")
        if self.replicas is not None and (self.hosts is None or self.replicas < 0):
            raise ValueError(f"--replicas {self.replicas}: give 0 or more, for a new OpenSearch index (--opensearch).")
        if self.compression is not None and (self.hosts is None or self.sparse or self.sparse_encoder):
            raise ValueError(
                f"--compression {self.compression}: compression is for a new OpenSearch k-NN index (--opensearch, "
                "without --sparse or --sparse-encoder); the embedded store keeps float vectors."
            )
        if self.sparse_encoder is not None and self.sparse is not None and self.sparse.model_id is not None:
            raise ValueError(
                "--sparse-encoder encodes passages here, --sparse MODEL_ID has the cluster encode them: give one."
            )
        if self.sparse is not None and self.hosts is None:
            raise ValueError(
                "--sparse searches an OpenSearch index the cluster encodes: give --opensearch URL --index NAME."
            )


class Sink(Protocol):
    """A place to write embedded passages that can tell which ids it already holds."""

    def stored_ids(self, ids: list[str]) -> set[str]:
        """
        Which of ``ids`` the sink already holds.

        :param ids: The ids asked about.
        :returns: Those it holds.
        """
        ...

    def write(self, documents: list[Document]) -> int:
        """Write ``documents``; returns how many were written (not those another writer stored meanwhile)."""
        ...


class _EmbeddedSink:
    """
    Writes into the SQLite store: each write is one transaction, so a killed run loses at most that batch.

    A passage another process wrote since ``stored_ids`` looked (two runs at once) is left as that process wrote
    it and not counted as written here: the job writes only passages it found missing, and counts the rest as
    already stored.
    """

    def __init__(self, store: SQLiteDocumentStore) -> None:
        self._store = store

    def stored_ids(self, ids: list[str]) -> set[str]:
        return self._store.stored_ids(ids)

    def write(self, documents: list[Document]) -> int:
        return self._store.write_documents(documents, policy=DuplicatePolicy.SKIP)


class PassagesNotWrittenError(OpenSearchPretrainedError):
    """
    A write still failed after its retries for ``ids``; the rest of the run goes on.

    ``written`` passages of the same write were stored.
    """

    def __init__(self, message: str, ids: list[str], written: int = 0) -> None:
        super().__init__(message)
        self.ids = ids
        self.written = written


class OpenSearchSink:
    """
    An OpenSearch index as the sink of both engines (the local job, and each Ray worker).

    "Already stored?" is one real-time ``_mget`` per group of ids, writes are ``_bulk`` requests accounted for item by
    item, retried under ``retry`` (``bulk_writes``); nothing is refreshed until ``refresh``, once at the end of a run.
    With ``sparse`` (the index's sparse field type and the encoder's vocabulary), passages carry sparse embeddings made
    here, written as that vocabulary's maps past the index's ingest pipeline (opensearch-haystack would drop them).
    """

    def __init__(
        self,
        store: OpenSearchDocumentStore,
        retry: RetryPolicy | None = None,
        *,
        sparse: tuple[SparseFieldType, SparseVocabulary] | None = None,
    ) -> None:
        self.store = store
        self._retry = retry or RetryPolicy()
        self._sparse = sparse

    def stored_ids(self, ids: list[str]) -> set[str]:
        """
        Which of ``ids`` the index holds; not knowing (after retries) answers "none".

        :param ids: Passage ids.
        :returns: Those the index holds.
        """
        return ids_in_index(self.store, ids, self._retry)

    def write(self, documents: list[Document]) -> int:
        """
        Write (or overwrite) ``documents``.

        :param documents: Embedded passages.
        :returns: How many were written.
        :raises PassagesNotWrittenError: Some were still not written after the retries.
        """
        outcome = bulk_write(self.store, documents, self._retry, sparse=self._sparse)
        if outcome.not_written:
            raise PassagesNotWrittenError(outcome.failure(), outcome.not_written, outcome.written)
        return outcome.written

    def refresh(self) -> None:
        """Make what was written searchable (and counted)."""
        adapter.connected_client(self.store, self._retry).indices.refresh(index=adapter.index_name(self.store))


@contextmanager
def open_sink(target: Target, model: PretrainedModel) -> Iterator[Sink]:
    """The writable side of ``target``; checks first that an existing index or file was built for ``model``."""
    if target.store_path is not None:
        target.store_path.parent.mkdir(parents=True, exist_ok=True)
        embedded = _embedded_store(target, model)
        embedded.write_documents([])  # creates or opens the store now: another model's is refused before any read
        try:
            yield _EmbeddedSink(embedded)
        finally:
            embedded.close()
        return
    hosts, index = target.opensearch_index()
    vocabulary = None
    if target.sparse_encoder is not None:
        store, vocabulary = local_sparse_index(target)
    elif target.sparse is not None:
        store = sparse_document_store(
            hosts, index, model_id=target.sparse.model_id, number_of_replicas=target.replicas, **target.tls()
        )
    else:
        store = document_store_for(model, hosts, index, **target.new_index_options(), **target.tls())
    sparse = None
    if vocabulary is not None:
        sparse = (require_sparse_field(adapter.connected_client(store), index), vocabulary)
    sink = OpenSearchSink(store, sparse=sparse)
    try:
        yield sink
        sink.refresh()
    finally:
        store.close()


def local_sparse_index(target: Target) -> tuple[OpenSearchDocumentStore, SparseVocabulary]:
    """
    The sparse index of an OpenSearch target whose passages ``target.sparse_encoder`` encodes here.

    The index is created (or checked: it must record that encoder, or none) before anything is written.

    :param target: An OpenSearch target with ``sparse_encoder``.
    :returns: The index's store and the vocabulary its ``rank_features`` maps are written in.
    :raises IndexMismatchError: If the index holds another sparse model's embeddings.
    """
    assert target.sparse_encoder is not None
    hosts, index = target.opensearch_index()
    store = sparse_document_store(hosts, index, number_of_replicas=target.replicas, **target.tls())
    artifact = resolve_sparse_artifact(target.sparse_encoder, progress_bar=False)
    require_recorded_encoder(adapter.connected_client(store), index, artifact.name)
    return store, vocabulary_of(artifact)


def load_store(target: Target, model: PretrainedModel) -> OpenSearchDocumentStore | SQLiteDocumentStore:
    """The searchable side of ``target``."""
    if target.store_path is not None:
        if not target.store_path.exists():
            raise FileNotFoundError(
                f"No store file at {target.store_path}: index documents first with `opensearch-pretrained index`."
            )
        return _embedded_store(target, model)
    # Searching must not leave an empty index behind a typo in --index.
    hosts, index = target.opensearch_index()
    if target.sparse is not None or target.sparse_encoder is not None:
        return sparse_document_store(hosts, index, create_index=False, **target.tls())
    return document_store_for(model, hosts, index, create_index=False, **target.tls())


def _embedded_store(target: Target, model: PretrainedModel) -> SQLiteDocumentStore:
    assert target.store_path is not None
    return SQLiteDocumentStore(
        path=str(target.store_path), model=model.name, version=model.version, analyzer=target.analyzer,
        sparse_model=target.sparse_encoder,
    )  # fmt: skip
