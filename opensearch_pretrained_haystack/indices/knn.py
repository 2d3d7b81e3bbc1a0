"""A k-NN index that follows the model: its dimension and space type come from the catalog, never from a user.

opensearch-haystack does the storing and retrieving; this module only decides the index body and refuses to
write into an existing index built for another model (opensearch-haystack silently keeps such an index and
the mismatch surfaces later as a ``mapper_parsing_exception`` at bulk time, or as wrong scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.cluster.connection import tls_kwargs
from opensearch_pretrained_haystack.cluster.errors import UnsupportedServerError
from opensearch_pretrained_haystack.cluster.ml_commons import MLCommonsClient
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy, call_with_retries
from opensearch_pretrained_haystack.cluster.versions import ServerProfile
from opensearch_pretrained_haystack.compatibility import (
    META_KEY,
    IndexMismatchError,
    ModelIdentity,
    index_vector_space,
    require_same_model,
    require_same_space,
)
from opensearch_pretrained_haystack.errors import UsageError

# opensearch-haystack hard-codes the vector field name; every index we build must use it.
VECTOR_FIELD = "embedding"
# Space types each engine accepts (ml-commons-api.md §12); the test node runs lucene only (faiss/nmslib kill it).
ENGINE_SPACES = {
    "lucene": ("l2", "cosinesimil", "innerproduct"),
    "faiss": ("l2", "innerproduct", "cosinesimil"),
    "nmslib": ("l2", "l1", "linf", "cosinesimil", "innerproduct"),
}
# Engines whose rules changed between server versions (versions.py): only for them is the version read first.
VERSIONED_ENGINES = ("nmslib", "faiss")


class MissingIndexError(UsageError):
    """The index to read from does not exist (and was not to be created)."""


def knn_index_body(
    model: PretrainedModel,
    *,
    engine: str = "lucene",
    space_type: str | None = None,
    m: int = 16,
    ef_construction: int = 100,
    text_field: str = "content",
    number_of_replicas: int | None = None,
    server_version: tuple[int, int, int] | None = None,
) -> dict[str, Any]:
    """Settings and mappings of a k-NN index for ``model``'s vectors.

    ``engine`` is always written out: OpenSearch's default engine changed between versions (nmslib, then
    faiss), and a node without the native libraries dies on a faiss index, while lucene works everywhere.
    ``space_type`` defaults to the model's own (e.g. innerproduct for msmarco-distilbert-base-tas-b).
    Strings in meta are mapped to ``keyword`` as opensearch-haystack does, so its filters keep working.
    The mapping's ``_meta`` records the model (``ModelIdentity``), so a later writer or reader of another model
    is refused (``check_index``).
    With ``server_version``, what that server refuses for a new index (nmslib on 3.x) raises
    ``UnsupportedServerError`` here, before anything is sent.
    """
    space = space_type or model.space_type
    if engine not in ENGINE_SPACES:
        raise ValueError(f"Unknown k-NN engine {engine!r}: use one of {', '.join(ENGINE_SPACES)} (lucene is portable).")
    if space not in ENGINE_SPACES[engine]:
        raise ValueError(
            f"The {engine} engine has no space type {space!r}; it supports {', '.join(ENGINE_SPACES[engine])}."
        )
    refusal = ServerProfile(server_version).new_knn_index_refusal(engine, space) if server_version else None
    if refusal:
        raise UnsupportedServerError(refusal)
    settings: dict[str, Any] = {"index.knn": True}
    if number_of_replicas is not None:
        settings["number_of_replicas"] = number_of_replicas
    method = {
        "name": "hnsw",
        "engine": engine,
        "space_type": space,
        "parameters": {"m": m, "ef_construction": ef_construction},
    }
    return {
        "settings": settings,
        "mappings": {
            "properties": {
                VECTOR_FIELD: {"type": "knn_vector", "dimension": model.dimension, "method": method},
                text_field: {"type": "text"},
            },
            "dynamic_templates": [{"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}],
            "_meta": {META_KEY: ModelIdentity.of(model, space).to_meta()},
        },
    }


def document_store_for(
    model: PretrainedModel,
    hosts: str | list[str],
    index: str,
    *,
    engine: str = "lucene",
    space_type: str | None = None,
    m: int = 16,
    ef_construction: int = 100,
    number_of_replicas: int | None = None,
    verify_certs: bool = True,
    ca_certs: str | None = None,
    retry: RetryPolicy | None = None,
    **store_kwargs: Any,
) -> OpenSearchDocumentStore:
    """opensearch-haystack's store for ``index``, created for ``model`` or checked against it.

    Connects at once: a missing index is created with ``knn_index_body``; an existing one whose vector
    dimension or space type differs from the model's raises ``IndexMismatchError`` before anything is
    written. TLS certificates are verified (against ``ca_certs`` when given) unless ``verify_certs=False``,
    which logs a warning; opensearch-haystack alone would not verify them. Transient faults of the index
    check are retried with ``retry``. ``store_kwargs`` go to ``OpenSearchDocumentStore`` (``http_auth``, ...).
    For a new index of an engine whose rules changed between versions (nmslib is refused from 3.0), the server
    version is read first and the index body checked against it, so a refused index is never sent.
    """
    connection = {**tls_kwargs(hosts, verify_certs=verify_certs, ca_certs=ca_certs), **store_kwargs}
    server_version = _version_for_new_index(hosts, index, connection, retry) if engine in VERSIONED_ENGINES else None
    body = knn_index_body(
        model,
        engine=engine,
        space_type=space_type,
        m=m,
        ef_construction=ef_construction,
        number_of_replicas=number_of_replicas,
        server_version=server_version,
    )
    vector_mapping = body["mappings"]["properties"][VECTOR_FIELD]
    store = OpenSearchDocumentStore(
        hosts=_store_hosts(hosts),
        index=index,
        embedding_dim=model.dimension,
        method=vector_mapping["method"],
        mappings=body["mappings"],
        settings=body["settings"],
        **connection,
    )
    check_index(store, model, space_type=vector_mapping["method"]["space_type"], retry=retry)
    return store


def _store_hosts(hosts: str | list[str]) -> str | list[str | Mapping[str, str | int]]:
    """``hosts`` as opensearch-haystack types it (a list is invariant, so a ``list[str]`` is copied into one)."""
    return hosts if isinstance(hosts, str) else list(hosts)


def _version_for_new_index(
    hosts: str | list[str], index: str, connection: dict[str, Any], retry: RetryPolicy | None
) -> tuple[int, int, int] | None:
    """The server's version if ``index`` does not exist yet (None: it exists, so no new field is created).

    Read through a store that may not create the index, with the same auth and TLS as the real one.
    """
    probe = OpenSearchDocumentStore(hosts=_store_hosts(hosts), index=index, **{**connection, "create_index": False})
    try:
        client = adapter.connected_client(probe, retry)
        if call_with_retries(lambda: client.indices.exists(index=index), retry or RetryPolicy(), what="Checking index"):
            return None
        return MLCommonsClient(client).server_profile().version
    finally:
        probe.close()


def recorded_model(client: OpenSearch, index: str, retry: RetryPolicy | None = None) -> ModelIdentity | None:
    """The model ``index`` records in its mapping's ``_meta``; None when the index or the record does not exist."""
    mappings = _index_mappings(client, index, retry or RetryPolicy())
    return None if mappings is None else ModelIdentity.from_meta(mappings.get("_meta"))


def _index_mappings(client: OpenSearch, index: str, policy: RetryPolicy) -> dict[str, Any] | None:
    """The mappings of ``index``, None if it does not exist."""
    if not call_with_retries(lambda: client.indices.exists(index=index), policy, what=f"Checking index {index!r}"):
        return None
    mapping = call_with_retries(
        lambda: client.indices.get_mapping(index=index), policy, what=f"Reading the mapping of index {index!r}"
    )
    mappings: dict[str, Any] = next(iter(mapping.values()))["mappings"]
    return mappings


def check_index(
    store: OpenSearchDocumentStore,
    model: PretrainedModel,
    *,
    space_type: str | None = None,
    retry: RetryPolicy | None = None,
) -> None:
    """Raise ``IndexMismatchError`` if the store's index holds vectors of another dimension or space type, or of
    another model (the identity its mapping's ``_meta`` records; an index without one is accepted with a warning).

    Creates the index (with the store's own mappings) when it does not exist yet, as the store would on
    first use; a store built with ``create_index=False`` gets an error that says how to fill the index instead.
    """
    client = adapter.connected_client(store, retry)
    name = adapter.index_name(store)
    mappings = _index_mappings(client, name, retry or RetryPolicy())
    if mappings is None:
        raise MissingIndexError(
            f"Index {name!r} does not exist: index documents into it first "
            f"(`opensearch-pretrained index SOURCE... --opensearch URL --index {name}`)."
        )
    properties = mappings.get("properties", {})
    vector = properties.get(VECTOR_FIELD)
    if vector is None or vector.get("type") != "knn_vector":
        raise IndexMismatchError(
            f"Index {name!r} has no knn_vector field {VECTOR_FIELD!r} (opensearch-haystack's vector field), "
            "so embeddings cannot be stored in it. Use a new index name, or re-index into one built by "
            "document_store_for()."
        )
    space = space_type or model.space_type
    require_same_space(f"Index {name!r}", index_vector_space(vector), model, space)
    require_same_model(
        f"Index {name!r}", ModelIdentity.from_meta(mappings.get("_meta")), ModelIdentity.of(model, space)
    )
