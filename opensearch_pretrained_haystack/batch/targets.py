"""Where the batch job writes and ``search`` reads: the embedded store file or an OpenSearch index.

The target is either an OpenSearch index (built for the model by ``store.document_store_for``) or the embedded
default: a file holding Haystack's in-memory store. Opening either checks first that it was built for the model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster.document_store import overwrite_documents, stored_ids
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.embedded_store import EmbeddedStoreWriter, load_embedded_store
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.indices.knn import document_store_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Where passages go: the embedded store file, or an OpenSearch index (``hosts`` and ``index``; ``replicas``
    for a new index, None for the cluster's default)."""

    store_path: Path | None = None
    hosts: str | None = None
    index: str | None = None
    replicas: int | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    """TLS for ``hosts``: certificates are verified (against ``ca_certs`` when given) unless this is False."""

    def tls(self) -> dict[str, Any]:
        """``verify_certs``/``ca_certs`` for every client of this target (store, embedder, preflight)."""
        return {"verify_certs": self.verify_certs, "ca_certs": self.ca_certs}

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


class Sink(Protocol):
    """A place to write embedded passages that can tell which ids it already holds."""

    def stored_ids(self, ids: list[str]) -> set[str]: ...

    def write(self, documents: list[Document]) -> int: ...


class _EmbeddedSink:
    def __init__(self, writer: EmbeddedStoreWriter) -> None:
        self._writer = writer

    def stored_ids(self, ids: list[str]) -> set[str]:
        return self._writer.written_ids.intersection(ids)

    def write(self, documents: list[Document]) -> int:
        return self._writer.write(documents)


class PassagesNotWrittenError(OpenSearchPretrainedError):
    """A write still failed after its retries; ``ids`` are the passages it held (the rest of the run goes on)."""

    def __init__(self, message: str, ids: list[str]) -> None:
        super().__init__(message)
        self.ids = ids


class _OpenSearchSink:
    """Writes through opensearch-haystack's store; its requests are retried (``cluster.document_store``)."""

    def __init__(self, store: OpenSearchDocumentStore) -> None:
        self._store = store

    def stored_ids(self, ids: list[str]) -> set[str]:
        try:
            return stored_ids(self._store, ids)
        except MLCommonsError as error:  # writes overwrite, so not knowing costs embeddings, never duplicates
            logger.warning("%s; the %d passages are embedded and written again.", error, len(ids))
            return set()

    def write(self, documents: list[Document]) -> int:
        try:
            return overwrite_documents(self._store, documents)
        except MLCommonsError as error:
            ids = [document.id for document in documents]
            shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
            raise PassagesNotWrittenError(f"{len(ids)} passage(s) not written ({shown}): {error}", ids) from error


@contextmanager
def open_sink(target: Target, model: PretrainedModel) -> Iterator[Sink]:
    """The writable side of ``target``; checks first that an existing index or file was built for ``model``."""
    if target.store_path is not None:
        with EmbeddedStoreWriter(target.store_path, model) as writer:
            yield _EmbeddedSink(writer)
        return
    hosts, index = target.opensearch_index()
    store = document_store_for(model, hosts, index, number_of_replicas=target.replicas, **target.tls())
    try:
        yield _OpenSearchSink(store)
    finally:
        store.close()


def load_store(target: Target, model: PretrainedModel) -> OpenSearchDocumentStore | InMemoryDocumentStore:
    """The searchable side of ``target``."""
    if target.store_path is not None:
        if not target.store_path.exists():
            raise FileNotFoundError(
                f"No store file at {target.store_path}: index documents first with `opensearch-pretrained index`."
            )
        return load_embedded_store(target.store_path)
    # Searching must not leave an empty index behind a typo in --index.
    hosts, index = target.opensearch_index()
    return document_store_for(model, hosts, index, create_index=False, **target.tls())
