"""
What the retrievers that query an OpenSearch index directly (neural, neural sparse) share.

Serializing the store they hold, applying Haystack's filter policy, and sending one search through the store's own
client.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from haystack import Document, default_from_dict
from haystack.document_stores.types import FilterPolicy
from haystack.document_stores.types.filter_policy import apply_filter_policy
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from haystack_integrations.document_stores.opensearch.filters import normalize_filters

from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.cluster.connection import refuse_url_credentials

T = TypeVar("T")


def serialized_store(store: OpenSearchDocumentStore, owner: object) -> dict[str, Any]:
    """``store`` through its own `to_dict`, for ``owner``'s `to_dict`; a password in a host URL is refused."""
    data: dict[str, Any] = store.to_dict()
    refuse_url_credentials(data["init_parameters"].get("hosts"), where=f"{type(owner).__name__}.to_dict")
    return data


def from_dict_with_store(cls: type[T], data: dict[str, Any]) -> T:
    """
    `default_from_dict` with the store and the filter policy rebuilt.

    ``data`` is left unchanged (the store's `from_dict` edits its input).
    """
    data = copy.deepcopy(data)
    params = data["init_parameters"]
    params["document_store"] = OpenSearchDocumentStore.from_dict(params["document_store"])
    params["filter_policy"] = FilterPolicy.from_str(params.get("filter_policy", FilterPolicy.REPLACE.value))
    return default_from_dict(cls, data)


def query_filters(
    store: OpenSearchDocumentStore,
    policy: FilterPolicy,
    init_filters: dict[str, Any] | None,
    runtime_filters: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The init and run-time filters combined by ``policy``, in OpenSearch's query syntax (None without filters)."""
    filters = apply_filter_policy(policy, init_filters, runtime_filters)
    return normalize_filters(filters, nested_fields=adapter.nested_fields(store)) if filters else None


def search(store: OpenSearchDocumentStore, body: dict[str, Any], params: dict[str, str]) -> list[Document]:
    """One search in the store's index with its own client; a failure raises opensearch-py's `TransportError`."""
    return adapter.hits_to_documents(search_hits(store, body, params))


async def search_async(store: OpenSearchDocumentStore, body: dict[str, Any], params: dict[str, str]) -> list[Document]:
    """The async twin of `search`, with the store's async client."""
    return adapter.hits_to_documents(await search_hits_async(store, body, params))


def search_hits(store: OpenSearchDocumentStore, body: dict[str, Any], params: dict[str, str]) -> list[dict[str, Any]]:
    """The raw hits of one search (`search` converts them)."""
    response = adapter.connected_client(store).search(index=adapter.index_name(store), body=body, params=params)
    hits: list[dict[str, Any]] = response["hits"]["hits"]
    return hits


async def search_hits_async(
    store: OpenSearchDocumentStore, body: dict[str, Any], params: dict[str, str]
) -> list[dict[str, Any]]:
    """The async twin of `search_hits`."""
    client = await adapter.connected_async_client(store)
    response = await client.search(index=adapter.index_name(store), body=body, params=params)
    hits: list[dict[str, Any]] = response["hits"]["hits"]
    return hits
