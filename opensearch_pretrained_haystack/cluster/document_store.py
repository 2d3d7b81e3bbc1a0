"""
opensearch-haystack's `OpenSearchDocumentStore` through the one module that touches its internals.

opensearch-haystack 9.x exposes neither its client, nor its index name, nor its hit-to-Document conversion, and
the package needs all three (index checks, neural queries, retried writes). Every private member read here is
listed in `INTERNALS`; pyproject bounds `opensearch-haystack>=9.0,<10`, and `check_internals` (run by
tests/cluster/test_document_store.py) fails loudly when a release renames one of them.

The store's own requests (opening the index) are retried with the predict calls' policy (`RetryPolicy`: backoff with
jitter, one deadline per call). The batch job writes `index_actions` (the store's own `_bulk` actions under
`DuplicatePolicy.OVERWRITE`, so a retried `_bulk` never duplicates a document) with `app.batch.bulk_writes`.
"""

from __future__ import annotations

from typing import Any

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import AsyncOpenSearch, OpenSearch

from opensearch_pretrained_haystack.cluster.connection import quiet_transport_logs, redacted_hosts
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy, call_with_retries

SUPPORTED_VERSIONS = ">=9.0,<10"
"""The opensearch-haystack releases whose internals this module was written against (pyproject says the same)."""
INTERNALS = (
    "_client",
    "_async_client",
    "_hosts",
    "_index",
    "_return_embedding",
    "_verify_certs",
    "_resolved_nested_fields",
    "_ensure_initialized",
    "_ensure_initialized_async",
    "_deserialize_search_hits",
    "_prepare_bulk_write_request",
)


def check_internals(store: OpenSearchDocumentStore) -> None:
    """Raise `RuntimeError` naming every private member of the store that this module needs and cannot find."""
    missing = [name for name in INTERNALS if not hasattr(store, name)]
    if missing:
        msg = (
            f"opensearch-haystack changed: OpenSearchDocumentStore has no {', '.join(missing)}. This package supports "
            f"opensearch-haystack{SUPPORTED_VERSIONS}; update opensearch_pretrained_haystack/cluster/document_store.py."
        )
        raise RuntimeError(msg)


def describe(store: OpenSearchDocumentStore) -> str:
    """`index 'name' at host` for messages, with any password in a host URL redacted."""
    return f"index {store._index!r} at {redacted_hosts(store._hosts)}"


def index_name(store: OpenSearchDocumentStore) -> str:
    """The index (or alias) the store reads and writes."""
    return store._index


def returns_embeddings(store: OpenSearchDocumentStore) -> bool:
    """Whether the store's own searches return vectors (retrievers should do the same)."""
    return bool(store._return_embedding)


def nested_fields(store: OpenSearchDocumentStore) -> set[str]:
    """Meta fields mapped as `nested`, which Haystack's filter normalization needs to know."""
    return set(store._resolved_nested_fields)


def hits_to_documents(hits: list[dict[str, Any]]) -> list[Document]:
    """Search hits as Documents, converted exactly as the store's own retrievers do."""
    return OpenSearchDocumentStore._deserialize_search_hits(hits)


def verify_by_default(store: OpenSearchDocumentStore) -> None:
    """
    opensearch-haystack's default `verify_certs=None` reaches opensearch-py as "do not verify".

    Make it verify, as every other client of this package does (an explicit False stays False).
    """
    if store._verify_certs is None:
        store._verify_certs = True


def connected_client(store: OpenSearchDocumentStore, retry: RetryPolicy | None = None) -> OpenSearch:
    """
    The store's blocking client, built with the store's own auth and TLS settings.

    Certificates are verified unless the store says `verify_certs=False`; the index check (and the creation of a missing
    index, when the store may create it) runs once, retried on transient faults.
    """
    quiet_transport_logs()
    verify_by_default(store)

    def initialize() -> OpenSearch:
        try:
            store._ensure_initialized()
        except Exception:
            # The store keeps a client whose index check failed and would skip the check on the next call.
            _forget_client(store)
            raise
        assert store._client is not None
        return store._client

    return call_with_retries(initialize, retry or RetryPolicy(), what=f"Opening {describe(store)}")


async def connected_async_client(store: OpenSearchDocumentStore) -> AsyncOpenSearch:
    """The store's async client (built on the running event loop with the store's own auth)."""
    quiet_transport_logs()
    verify_by_default(store)
    await store._ensure_initialized_async()
    assert store._async_client is not None
    return store._async_client


def index_actions(store: OpenSearchDocumentStore, documents: list[Document]) -> list[dict[str, Any]]:
    """
    The `_bulk` actions the store's own `write_documents` sends for `documents` under `OVERWRITE`.

    `index` operations with `_id` and the store's `_source`, so a writer with its own client stores the same bytes.
    """
    request = store._prepare_bulk_write_request(
        documents=documents, policy=DuplicatePolicy.OVERWRITE, is_async=False, refresh=False
    )
    actions: list[dict[str, Any]] = request["actions"]
    return actions


def _forget_client(store: OpenSearchDocumentStore) -> None:
    if store._client is not None:
        store._client.close()
        store._client = None
