"""
Neural sparse indices.

The index body, the cluster's ``sparse_encoding`` ingest pipeline, and a writer for documents that already carry a
``SparseEmbedding``.

- The sparse field is ``rank_features`` (every neural-search version), or ``sparse_vector`` on servers that have
  it (3.3+, ``ServerProfile.sparse_vector_field``; its keys are token ids and it needs ``index.sparse``).
- The field is left out of ``_source`` by default: opensearch-haystack turns every hit into a ``Document`` and
  cannot read a ``{token: weight}`` map as a ``SparseEmbedding``; the field stays searchable. (This is not a size
  saving at first: OpenSearch keeps the excluded maps as recovery source until its retention lease expires.)
- The ingest pipeline (document-only mode: a SPARSE_ENCODING model at ingest, a tokenizer or the same encoder at
  search) is the dense pipeline of ``neural.py`` with the ``sparse_encoding`` processor.
- opensearch-haystack 9 drops ``sparse_embedding`` on write, so ``write_sparse_documents`` writes with
  opensearch-py's ``streaming_bulk``: ``index`` ops keyed by ``Document.id`` (a retry never duplicates), retried
  with the package's ``RetryPolicy`` while the cluster answers 429 or a transient fault.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from haystack_integrations.document_stores.opensearch.document_store import Hosts
from opensearchpy import OpenSearch, helpers

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.cluster.connection import tls_kwargs
from opensearch_pretrained_haystack.cluster.errors import RequestRejectedError, ThrottledError, UnsupportedServerError
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy, call_with_retries
from opensearch_pretrained_haystack.cluster.sparse_operations import SPARSE_TASKS
from opensearch_pretrained_haystack.cluster.versions import NEURAL_SPARSE_VERSION
from opensearch_pretrained_haystack.compatibility import IndexMismatchError
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.indices.knn import MissingIndexError, knn_index_body
from opensearch_pretrained_haystack.indices.neural import (
    TEXT_FIELD,
    ingest_pipeline_body,
    require_deployed,
    require_neural_search,
)
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseVocabulary

logger = logging.getLogger(__name__)

SPARSE_FIELD = "sparse_embedding"
"""Where the token weights live: Haystack's name for them (opensearch-haystack itself never writes it)."""
SparseFieldType = Literal["rank_features", "sparse_vector"]
RANK_FEATURES: Final = "rank_features"
SPARSE_VECTOR: Final = "sparse_vector"
SPARSE_META_KEY = "opensearch_pretrained_sparse_model"
"""Where an index mapping's ``_meta`` records the sparse encoder that fills it (its registered name)."""
NO_PIPELINE = "_none"
"""OpenSearch's name for "run no default pipeline": documents that carry their embeddings are not re-encoded."""
_STRING_KEYWORDS = [{"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}]


class SparseWriteError(OpenSearchPretrainedError):
    """Some documents were refused by the index (the others were written); ``failures`` maps id → reason."""

    def __init__(self, message: str, failures: dict[str, str]) -> None:
        super().__init__(message)
        self.failures = failures


def sparse_index_body(
    *,
    field_type: SparseFieldType = RANK_FEATURES,
    dense_model: PretrainedModel | None = None,
    store_sparse_source: bool = False,
    seismic_parameters: Mapping[str, Any] | None = None,
    number_of_replicas: int | None = None,
) -> dict[str, Any]:
    """
    Settings and mappings of an index with a sparse field (and, with ``dense_model``, the k-NN field too).

    With ``dense_model`` the body is ``knn_index_body``'s plus the sparse field, for hybrid dense + sparse search.
    ``seismic_parameters`` go to a ``sparse_vector`` field's SEISMIC method (``n_postings``, ``cluster_ratio``, ...).
    """
    if field_type not in (RANK_FEATURES, SPARSE_VECTOR):
        raise ValueError(f"field_type must be {RANK_FEATURES!r} or {SPARSE_VECTOR!r}, not {field_type!r}.")
    if dense_model is not None:
        # The text field keeps OpenSearch's standard analysis, as the sparse-only body does: the english analysis
        # needs the analysis-common module, which this builder does not probe for.
        body = knn_index_body(dense_model, number_of_replicas=number_of_replicas, analyzer=None)
    else:
        settings = {} if number_of_replicas is None else {"number_of_replicas": number_of_replicas}
        body = {
            "settings": settings,
            "mappings": {"properties": {TEXT_FIELD: {"type": "text"}}, "dynamic_templates": _STRING_KEYWORDS},
        }
    mapping: dict[str, Any] = {"type": field_type}
    if field_type == SPARSE_VECTOR:
        mapping["method"] = {"name": "seismic", "parameters": dict(seismic_parameters or {})}
        body["settings"]["index.sparse"] = True
    body["mappings"]["properties"][SPARSE_FIELD] = mapping
    if not store_sparse_source:
        body["mappings"]["_source"] = {"excludes": [SPARSE_FIELD]}
    return body


def sparse_ingest_pipeline_body(
    model_id: str, *, text_field: str = TEXT_FIELD, batch_size: int | None = None
) -> dict[str, Any]:
    """An ingest pipeline whose ``sparse_encoding`` processor encodes ``text_field`` into the sparse field."""
    return ingest_pipeline_body(
        model_id,
        text_field=text_field,
        batch_size=batch_size,
        processor_type="sparse_encoding",
        target_field=SPARSE_FIELD,
    )


def create_sparse_ingest_pipeline(
    client: OpenSearch,
    pipeline_id: str,
    model_id: str,
    *,
    dense_model_id: str | None = None,
    text_field: str = TEXT_FIELD,
    batch_size: int | None = None,
) -> None:
    """
    Create (or replace) the pipeline after checking the cluster and that ``model_id`` is a deployed sparse model.

    With ``dense_model_id`` the same pipeline also embeds ``text_field`` densely (an index has one default
    pipeline), for hybrid dense + sparse indices.
    """
    require_sparse_model(client, model_id)
    body = sparse_ingest_pipeline_body(model_id, text_field=text_field, batch_size=batch_size)
    if dense_model_id is not None:
        require_deployed(client, dense_model_id)
        dense = ingest_pipeline_body(dense_model_id, text_field=text_field, batch_size=batch_size)
        body["processors"] = dense["processors"] + body["processors"]
    client.ingest.put_pipeline(id=pipeline_id, body=body)


def require_sparse_model(client: OpenSearch, model_id: str) -> dict[str, Any]:
    """
    The model document of ``model_id``, once checked that the cluster can run it.

    The cluster must run neural sparse and the model must be a deployed SPARSE_ENCODING or SPARSE_TOKENIZE model;
    ``IndexMismatchError`` for a dense (or any other) model.
    """
    require_neural_search(client, NEURAL_SPARSE_VERSION)
    deployed = require_deployed(client, model_id)
    task = deployed.get("algorithm") or deployed.get("function_name")
    if task not in SPARSE_TASKS:
        raise IndexMismatchError(
            f"ML Commons model {model_id} ({deployed.get('name')}) is a {task} model: sparse encoding needs a "
            "SPARSE_ENCODING or SPARSE_TOKENIZE model (a neural-sparse encoder or tokenizer from the catalog)."
        )
    return deployed


@dataclass(frozen=True)
class SparseEncoding:
    """
    How a sparse index is encoded and searched (``index``/``search``/``evaluate --sparse``).

    ``model_id``, a deployed sparse model, encodes documents at ingest (the index's default ``sparse_encoding``
    pipeline) and, unless ``query_tokenizer`` is set, queries in the cluster (``query_text`` + ``model_id``).
    ``passage_model`` (a catalog sparse model, or a directory of one) splits passages with its tokenizer; None
    takes the deployed model's catalog name. ``query_tokenizer`` (the same kinds) encodes queries on this machine
    with ``LocalSparseTextEmbedder``, sent as ``query_tokens``.
    """

    model_id: str | None = None
    passage_model: str | None = None
    query_tokenizer: str | None = None


def sparse_document_store(
    hosts: Hosts,
    index: str,
    *,
    model_id: str | None = None,
    field_type: SparseFieldType = RANK_FEATURES,
    dense_model: PretrainedModel | None = None,
    dense_model_id: str | None = None,
    pipeline_id: str | None = None,
    batch_size: int | None = None,
    store_sparse_source: bool = False,
    number_of_replicas: int | None = None,
    verify_certs: bool = True,
    ca_certs: str | None = None,
    retry: RetryPolicy | None = None,
    **store_kwargs: Any,
) -> OpenSearchDocumentStore:
    """
    opensearch-haystack's store for a sparse index, created (or checked) and, with ``model_id``, encoded at ingest.

    With ``model_id`` (a deployed SPARSE_ENCODING model) the pipeline ``pipeline_id`` (default ``<index>-sparse``)
    becomes the index's default pipeline, so every write through the store fills the sparse field. Without it,
    write pre-encoded documents with ``write_sparse_documents``. ``dense_model`` adds the k-NN field (and
    ``dense_model_id`` its ``text_embedding`` processor) for hybrid search. Raises ``IndexMismatchError`` if an
    existing index has no such sparse field, ``UnsupportedServerError`` when the server lacks the field type.
    """
    body = sparse_index_body(
        field_type=field_type,
        dense_model=dense_model,
        store_sparse_source=store_sparse_source,
        number_of_replicas=number_of_replicas,
    )
    dense_kwargs: dict[str, Any] = {"embedding_dim": dense_model.dimension} if dense_model is not None else {}
    store = OpenSearchDocumentStore(
        hosts=hosts,
        index=index,
        mappings=body["mappings"],
        settings=body["settings"],
        **dense_kwargs,
        **tls_kwargs(hosts, verify_certs=verify_certs, ca_certs=ca_certs),
        **store_kwargs,
    )
    try:
        client = adapter.connected_client(store, retry)  # creates the index on first use
    except RequestRejectedError as error:
        raise _missing_field_type(error, field_type) from error
    require_sparse_field(client, index, retry=retry)
    if model_id is not None:
        encoder = str(require_sparse_model(client, model_id).get("name"))
        require_recorded_encoder(client, index, encoder, retry=retry)
        pipeline_id = pipeline_id or f"{index}-sparse"
        create_sparse_ingest_pipeline(
            client, pipeline_id, model_id, dense_model_id=dense_model_id, batch_size=batch_size
        )
        client.indices.put_settings(index=index, body={"index.default_pipeline": pipeline_id})
        logger.info(
            "Index %s sparse-encodes %r with model %s at ingest (pipeline %s).",
            index,
            TEXT_FIELD,
            model_id,
            pipeline_id,
        )
    return store


def require_recorded_encoder(client: OpenSearch, index: str, encoder: str, *, retry: RetryPolicy | None = None) -> None:
    """
    Refuse a sparse encoder other than the one the index's mapping ``_meta`` records.

    Refused with ``IndexMismatchError``, before anything is written. An index without a record gets this one (with a
    one-line warning if it already holds documents, whose encoder cannot be checked).
    """
    policy = retry or RetryPolicy()
    mapping = call_with_retries(
        lambda: client.indices.get_mapping(index=index), policy, what=f"Reading the mapping of index {index!r}"
    )
    meta = next(iter(mapping.values()))["mappings"].get("_meta") or {}
    recorded = (meta.get(SPARSE_META_KEY) or {}).get("name")
    if recorded is not None and recorded != encoder:
        raise IndexMismatchError(
            f"Index {index!r} holds sparse embeddings of {recorded}, not {encoder}: two models' embeddings never "
            "share an index. Nothing was written. Encode with the index's model, or use a new index for this one."
        )
    if recorded is None:
        count = call_with_retries(lambda: client.count(index=index), policy, what=f"Counting index {index!r}")
        if count.get("count"):
            logger.warning(
                "Index %r records no sparse model (made before model records were kept): its documents cannot be "
                "checked against %s, which it records from now on.", index, encoder,
            )  # fmt: skip
        client.indices.put_mapping(index=index, body={"_meta": {**meta, SPARSE_META_KEY: {"name": encoder}}})


def _missing_field_type(error: RequestRejectedError, field_type: SparseFieldType) -> Exception:
    """
    Name the server capability behind a refused sparse index.

    ``sparse_vector`` before 3.3 (its ``index.sparse`` setting is unknown too), or ``rank_features`` without the
    mapper-extras module.
    """
    reason = str(error)
    if field_type == SPARSE_VECTOR and ("index.sparse" in reason or SPARSE_VECTOR in reason):
        return UnsupportedServerError(
            f"This cluster has no sparse_vector field ({reason}): it needs OpenSearch 3.3 or newer with the "
            "neural-search plugin. Use field_type='rank_features' here."
        )
    if f"[{RANK_FEATURES}]" in reason:
        return UnsupportedServerError(
            f"This cluster has no rank_features field ({reason}): its mapper-extras module is missing (every "
            "OpenSearch distribution ships it; a hand-assembled node may not)."
        )
    return error


def require_sparse_field(client: OpenSearch, index: str, *, retry: RetryPolicy | None = None) -> SparseFieldType:
    """
    The type of the index's sparse field.

    ``IndexMismatchError`` if it has none (e.g. a dense-only index), ``MissingIndexError`` if there is no such index (a
    store that may not create it, e.g. for searching).
    """
    policy = retry or RetryPolicy()
    if not call_with_retries(lambda: client.indices.exists(index=index), policy, what=f"Checking index {index!r}"):
        raise MissingIndexError(
            f"Index {index!r} does not exist: index documents into it first "
            f"(`opensearch-pretrained index SOURCE... --opensearch URL --index {index} --sparse MODEL_ID`)."
        )
    mapping = call_with_retries(
        lambda: client.indices.get_mapping(index=index), policy, what=f"Reading the mapping of index {index!r}"
    )
    properties = next(iter(mapping.values()))["mappings"].get("properties", {})
    found = (properties.get(SPARSE_FIELD) or {}).get("type")
    if found not in (RANK_FEATURES, SPARSE_VECTOR):
        raise IndexMismatchError(
            f"Index {index!r} has no {RANK_FEATURES} or {SPARSE_VECTOR} field {SPARSE_FIELD!r} (it maps it as "
            f"{found}), so sparse embeddings cannot be stored in it. Use a new index built by sparse_document_store()."
        )
    return found  # type: ignore[no-any-return]


def sparse_field_value(
    embedding: SparseEmbedding, field_type: SparseFieldType, vocabulary: SparseVocabulary | None
) -> dict[str, float]:
    """
    A ``SparseEmbedding`` as the field wants it.

    ``{token: weight}`` (``rank_features``, by ``vocabulary``) or ``{"<token id>": weight}`` (``sparse_vector``; the
    indices are the vocabulary ids).
    """
    if field_type == SPARSE_VECTOR:
        return {str(index): float(value) for index, value in zip(embedding.indices, embedding.values, strict=True)}
    if vocabulary is None:
        raise ValueError("A rank_features field holds token strings: pass the model's vocabulary (load_vocabulary).")
    return vocabulary.to_token_weights(embedding)


@dataclass
class _PendingWrites:
    """The bulk actions not yet acknowledged, and the documents the index refused for good."""

    actions: dict[str, dict[str, Any]]
    failures: dict[str, str] = field(default_factory=dict)
    written: int = 0


def write_sparse_documents(
    store: OpenSearchDocumentStore,
    documents: list[Document],
    *,
    vocabulary: SparseVocabulary | None = None,
    pipeline: str | None = NO_PIPELINE,
    refresh: bool | str = "wait_for",
    chunk_size: int = 500,
    retry: RetryPolicy | None = None,
) -> int:
    """
    Write (or overwrite) documents with their ``sparse_embedding`` into the store's sparse index.

    Each document is one ``index`` op with ``_id = Document.id``, so a retry never duplicates. Items the cluster
    throttles (429) and transient faults are retried under ``retry``; items it refuses (e.g. a mapping conflict)
    are not: the rest is written, then ``SparseWriteError`` names each refused id with its reason. ``pipeline``
    defaults to none, so a default ``sparse_encoding`` pipeline does not replace the given embeddings.
    Returns how many documents were written.
    """
    client = adapter.connected_client(store, retry)
    index = adapter.index_name(store)
    field_type = require_sparse_field(client, index, retry=retry)
    pending = _PendingWrites({doc.id: sparse_bulk_action(doc, field_type, vocabulary) for doc in documents})
    params: dict[str, Any] = {"refresh": refresh}
    if pipeline is not None:
        params["pipeline"] = pipeline

    def attempt() -> None:
        results = helpers.streaming_bulk(
            client,
            list(pending.actions.values()),
            index=index,
            chunk_size=chunk_size,
            raise_on_error=False,
            **params,
        )
        throttled = 0
        for ok, item in results:
            result = item["index"]
            if ok:
                pending.actions.pop(result["_id"], None)
                pending.written += 1
            elif result.get("status") == 429:
                throttled += 1
            else:
                pending.failures[result["_id"]] = str(result.get("error"))[:300]
                pending.actions.pop(result["_id"], None)
        if throttled:
            raise ThrottledError(f"The cluster rejected {throttled} documents under load (429).", status=429)

    call_with_retries(attempt, retry or RetryPolicy(), what=f"Writing {len(documents)} sparse documents to {index!r}")
    if pending.failures:
        first_id, first_reason = next(iter(pending.failures.items()))
        raise SparseWriteError(
            f"{len(pending.failures)} of {len(documents)} documents were refused by index {index!r} (the other "
            f"{pending.written} were written); first: {first_id}: {first_reason}",
            pending.failures,
        )
    return pending.written


def sparse_bulk_action(
    doc: Document, field_type: SparseFieldType, vocabulary: SparseVocabulary | None
) -> dict[str, Any]:
    """
    The ``_bulk`` ``index`` action of a document, with the sparse field filled.

    The document is written as opensearch-haystack writes it (flattened meta).

    :param doc: The document, with its sparse embedding.
    :param field_type: The index's sparse field type.
    :param vocabulary: The model's vocabulary (for a ``rank_features`` field).
    :returns: The action, keyed by the document's id.
    """
    source = doc.to_dict()
    sparse = source.pop("sparse_embedding", None)
    routing = source.pop("_routing", None)
    if sparse is not None:
        assert doc.sparse_embedding is not None
        source[SPARSE_FIELD] = sparse_field_value(doc.sparse_embedding, field_type, vocabulary)
    action: dict[str, Any] = {"_op_type": "index", "_id": doc.id, "_source": source}
    if routing is not None:
        action["_routing"] = routing
    return action
