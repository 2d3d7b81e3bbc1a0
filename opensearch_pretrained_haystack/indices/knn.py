"""
A k-NN index that follows the model: its dimension and space type come from the catalog, never from a user.

opensearch-haystack does the storing and retrieving; this module only decides the index body and refuses to
write into an existing index built for another model (opensearch-haystack silently keeps such an index and
the mismatch surfaces later as a ``mapper_parsing_exception`` at bulk time, or as wrong scores).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.cluster.connection import tls_kwargs
from opensearch_pretrained_haystack.cluster.errors import RequestRejectedError, UnsupportedServerError
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
from opensearch_pretrained_haystack.text_analysis import DEFAULT_ANALYZER, get_analyzer

logger = logging.getLogger(__name__)

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
MODES = ("in_memory", "on_disk")
# Compression levels each engine's HNSW accepts (k-NN 3.6.0.0 `*MethodResolver.SUPPORTED_COMPRESSION_LEVELS`):
# lucene 4x is int8 scalar quantization, 32x (3.6+) its 1-bit quantization; faiss 2x is fp16, 8x–32x binary.
ENGINE_COMPRESSION = {
    "lucene": ("1x", "4x", "32x"),
    "faiss": ("1x", "2x", "8x", "16x", "32x"),
    "nmslib": ("1x",),
}


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
    mode: str | None = None,
    compression_level: str | None = None,
    analyzer: str | None = DEFAULT_ANALYZER,
) -> dict[str, Any]:
    """
    Settings and mappings of a k-NN index for ``model``'s vectors.

    ``engine`` is always written out: OpenSearch's default engine changed between versions (nmslib, then
    faiss), and a node without the native libraries dies on a faiss index, while lucene works everywhere.
    ``space_type`` defaults to the model's own (e.g. innerproduct for msmarco-distilbert-base-tas-b).
    Strings in meta are mapped to ``keyword`` as opensearch-haystack does, so its filters keep working.
    ``text_field`` is analyzed for BM25 by ``analyzer`` (``text_analysis``), as the embedded store analyzes it;
    None leaves it to OpenSearch's ``standard`` analyzer (for a cluster without the ``analysis-common`` module).
    The mapping's ``_meta`` records the model (``ModelIdentity``), so a later writer or reader of another model
    is refused (``check_index``).
    ``mode`` (``in_memory``/``on_disk``) and ``compression_level`` (``"4x"``, ``"32x"``, ...; k-NN 2.17+) quantize
    the vectors the graph holds, so a large index fits in memory; the full-precision vectors stay on disk for
    rescoring (``rescore_search_kwargs``). ``on_disk`` needs an explicit level (k-NN's own default
    moved from 4x to 32x for lucene indices created by 3.6).
    With ``server_version``, what that server refuses for a new index (nmslib on 3.x, a compression it does not
    have) raises ``UnsupportedServerError`` here, before anything is sent.
    """
    space = space_type or model.space_type
    if engine not in ENGINE_SPACES:
        raise ValueError(f"Unknown k-NN engine {engine!r}: use one of {', '.join(ENGINE_SPACES)} (lucene is portable).")
    if space not in ENGINE_SPACES[engine]:
        raise ValueError(
            f"The {engine} engine has no space type {space!r}; it supports {', '.join(ENGINE_SPACES[engine])}."
        )
    check_compression(engine, mode, compression_level)
    refusal = (
        ServerProfile(server_version).new_knn_index_refusal(engine, space, mode=mode, compression=compression_level)
        if server_version
        else None
    )
    if refusal:
        raise UnsupportedServerError(refusal)
    analysis = get_analyzer(analyzer) if analyzer is not None else None
    settings: dict[str, Any] = {"index.knn": True, **(analysis.index_settings() if analysis else {})}
    if number_of_replicas is not None:
        settings["number_of_replicas"] = number_of_replicas
    method = {
        "name": "hnsw",
        "engine": engine,
        "space_type": space,
        "parameters": {"m": m, "ef_construction": ef_construction},
    }
    vector: dict[str, Any] = {"type": "knn_vector", "dimension": model.dimension, "method": method}
    if mode is not None:
        vector["mode"] = mode
    if compression_level is not None:
        vector["compression_level"] = compression_level
    return {
        "settings": settings,
        "mappings": {
            "properties": {
                VECTOR_FIELD: vector,
                text_field: analysis.text_mapping() if analysis else {"type": "text"},
            },
            "dynamic_templates": [{"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}],
            "_meta": {META_KEY: ModelIdentity.of(model, space).to_meta()},
        },
    }


def check_compression(engine: str, mode: str | None, compression_level: str | None) -> None:
    """One line naming the user's value if the engine has no such mode or compression level."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"Unknown k-NN mode {mode!r}: use one of {', '.join(MODES)}.")
    if compression_level is not None and compression_level not in ENGINE_COMPRESSION[engine]:
        raise ValueError(
            f"The {engine} engine has no compression level {compression_level!r}; it supports "
            f"{', '.join(ENGINE_COMPRESSION[engine])}."
        )
    if mode == "on_disk" and compression_level in (None, "1x"):
        # k-NN's own default for on_disk changed (lucene 4x, then 32x on indices created by 3.6): say it explicitly.
        raise ValueError(
            f"mode='on_disk' needs an explicit compression_level above 1x ({', '.join(ENGINE_COMPRESSION[engine][1:])} "
            f"for {engine}): the graph holds quantized vectors."
        )


def rescore_search_kwargs(oversample_factor: float) -> dict[str, Any]:
    """
    The ``knn`` query options that rescore quantized candidates with the full-precision vectors.

    They rescore ``oversample_factor`` × k candidates (k-NN 2.17+), for
    ``OpenSearchEmbeddingRetriever(search_kwargs=...)``.

    An ``on_disk`` index rescores by default, with a factor k-NN picks by level, dimension and version (none for
    4x on indices created before 3.1); this sets it, e.g. to raise recall of a 4x index.
    """
    if not 1.0 <= oversample_factor <= 100.0:
        raise ValueError(f"oversample_factor must lie between 1 and 100, not {oversample_factor!r}.")
    return {"rescore": {"oversample_factor": oversample_factor}}


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
    mode: str | None = None,
    compression_level: str | None = None,
    analyzer: str = DEFAULT_ANALYZER,
    verify_certs: bool = True,
    ca_certs: str | None = None,
    retry: RetryPolicy | None = None,
    **store_kwargs: Any,
) -> OpenSearchDocumentStore:
    """
    opensearch-haystack's store for ``index``, created for ``model`` or checked against it.

    Connects at once: a missing index is created with ``knn_index_body``; an existing one whose vector
    dimension or space type differs from the model's raises ``IndexMismatchError`` before anything is
    written. TLS certificates are verified (against ``ca_certs`` when given) unless ``verify_certs=False``,
    which logs a warning; opensearch-haystack alone would not verify them. Transient faults of the index
    check are retried with ``retry``. ``store_kwargs`` go to ``OpenSearchDocumentStore`` (``http_auth``, ...).
    For a new index of an engine whose rules changed between versions (nmslib is refused from 3.0) or with
    ``mode``/``compression_level`` (see ``knn_index_body``), the server version is read first and the index body
    checked against it, so a refused index is never sent.
    ``analyzer`` is the BM25 analysis of a new index's text (an existing index keeps its own); a cluster without
    the ``analysis-common`` module (which defines its tokenizer and stemmer) gets the ``standard`` analyzer and a
    warning.
    """
    connection = {**tls_kwargs(hosts, verify_certs=verify_certs, ca_certs=ca_certs), **store_kwargs}
    versioned = engine in VERSIONED_ENGINES or mode is not None or compression_level is not None
    # Only an index that may be created is probed (a search opens with create_index=False: no extra request).
    may_create = store_kwargs.get("create_index", True) or versioned
    probe = _probe_new_index(hosts, index, connection, retry, version=versioned) if may_create else None
    server_version = probe.version if probe else None
    text_analyzer: str | None = analyzer
    if probe and not probe.analysis_common:
        text_analyzer = None  # even if the index seemed to exist: the body is what creates it if it does not
        if not probe.exists:
            logger.warning(
                "The cluster has no analysis-common module (every OpenSearch distribution ships it): index %r "
                "analyzes BM25 text with OpenSearch's standard analyzer, not %r as the embedded store does.",
                index, analyzer,
            )  # fmt: skip
    body = knn_index_body(
        model,
        engine=engine,
        space_type=space_type,
        m=m,
        ef_construction=ef_construction,
        number_of_replicas=number_of_replicas,
        server_version=server_version,
        mode=mode,
        compression_level=compression_level,
        analyzer=text_analyzer,
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


@dataclass(frozen=True)
class _NewIndex:
    """What the server offers an index that may be created."""

    exists: bool
    version: tuple[int, int, int] | None  # read only for a new index of a versioned engine
    analysis_common: bool


def _probe_new_index(
    hosts: str | list[str], index: str, connection: dict[str, Any], retry: RetryPolicy | None, *, version: bool
) -> _NewIndex:
    """
    What the store needs to know of ``index`` and the server before it writes.

    Whether ``index`` exists, the server's version (if ``version`` and it does not: a new field is created), and whether
    it can build ``text_analysis``'s analyzers (the ``pattern`` tokenizer and ``porter_stem`` of analysis-common), asked
    in any case since the store creates the index if it is missing when it writes.

    Read through a store that may not create the index, with the same auth and TLS as the real one.
    """
    probe = OpenSearchDocumentStore(hosts=_store_hosts(hosts), index=index, **{**connection, "create_index": False})
    try:
        client = adapter.connected_client(probe, retry)
        policy = retry or RetryPolicy()
        exists = call_with_retries(lambda: client.indices.exists(index=index), policy, what="Checking index")
        server_version = MLCommonsClient(client).server_profile().version if version and not exists else None
        return _NewIndex(bool(exists), server_version, has_analysis_common(client, policy))
    finally:
        probe.close()


def has_analysis_common(client: OpenSearch, policy: RetryPolicy) -> bool:
    """Whether the cluster analyzes with analysis-common's components (asked of ``_analyze`` itself)."""
    body = {"tokenizer": {"type": "pattern", "pattern": "-"}, "filter": ["porter_stem"], "text": "probes"}
    try:
        call_with_retries(lambda: client.indices.analyze(body=body), policy, what="Probing text analysis")
    except RequestRejectedError:  # 400: unknown tokenizer or filter
        return False
    return True


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
    """
    Raise ``IndexMismatchError`` if the store's index holds vectors of another dimension, space type or model.

    The model is the identity its mapping's ``_meta`` records; an index without one is accepted with a warning.

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
