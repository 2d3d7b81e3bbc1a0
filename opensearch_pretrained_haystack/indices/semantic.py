"""
An index with a `semantic` field.

One mapping that names the model, so the cluster embeds at ingest and at query time with no ingest pipeline and no
`model_id` in queries (neural-search 3.1+).

Sources (neural-search): the field mapper 3.0.0.0 (PR #1225); ingest processor, query logic and `chunking` 3.1.0.0
(#1309, #1315, #1337); `dense_embedding_config` (#1420), `sparse_encoding_config` (#1434), chunking strategies
(#1446), `skip_existing_embedding` (#1480) and the index setting `index.neural_search.semantic_ingest_batch_size`
(#1438, 1–100, default 10) in 3.2.0.0. A dense model must carry `model_config.additional_config.space_type`
(`SemanticInfoConfigBuilder`), which `PretrainedModelUploader` registers from the catalog on 3.1+.

`skip_existing_embedding` (#1480) reuses the embedding of the *stored* copy of a document whose text and model did
not change (`SemanticFieldProcessor.applyReusableEmbeddingsAndFilterUnprocessedFields`); it does not take embeddings
sent with a new document, so documents embedded on the client cannot be written into a semantic field without the
cluster embedding them again.
"""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.cluster.versions import version_text
from opensearch_pretrained_haystack.indices.knn import ENGINE_SPACES, check_compression
from opensearch_pretrained_haystack.indices.neural import TEXT_FIELD, require_deployed, require_feature

SEMANTIC_VERSION = (3, 1, 0)
"""Ingest and `neural` queries through a `semantic` field."""
SEMANTIC_SETTINGS_VERSION = (3, 2, 0)
"""`dense_embedding_config`, `sparse_encoding_config`, chunking strategies, `skip_existing_embedding`, batch size."""
SPARSE_FUNCTIONS = ("SPARSE_ENCODING", "SPARSE_TOKENIZE")


def semantic_index_body(
    model_id: str,
    *,
    field: str = TEXT_FIELD,
    search_model_id: str | None = None,
    chunking: bool | list[dict[str, Any]] = False,
    engine: str = "lucene",
    mode: str | None = None,
    compression_level: str | None = None,
    prune: dict[str, Any] | None = None,
    skip_existing_embedding: bool | None = None,
    batch_size: int | None = None,
    number_of_replicas: int | None = None,
    sparse: bool = False,
) -> dict[str, Any]:
    """
    Settings and mappings of an index whose ``field`` is a ``semantic`` field of ``model_id``.

    :param search_model_id: Another model for queries (e.g. a sparse tokenizer beside a sparse document encoder).
    :param chunking: ``True`` (the default text chunker) or a list of chunking strategies (3.2+).
    :param engine: The k-NN engine of a dense model's vectors, always written out: the cluster default (faiss)
        needs native libraries a node may lack.
    :param mode: ``in_memory``/``on_disk`` of a dense model's vectors (3.2+, k-NN 2.17+ semantics).
    :param compression_level: ``"4x"``, ... of a dense model's vectors (3.2+); see ``knn_index_body``.
    :param prune: A sparse model's ``sparse_encoding_config`` (``{"prune_type": ..., "prune_ratio": ...}``, 3.2+).
    :param skip_existing_embedding: Reuse the stored embedding of an unchanged document on update (3.2+).
    :param batch_size: Documents per inference call at ingest (``index.neural_search.semantic_ingest_batch_size``,
        1–100; 3.2+).
    :param sparse: ``model_id`` is a sparse model (the dense options do not apply).
    :raises ValueError: For options that do not fit the model kind or the engine.
    """
    mapping: dict[str, Any] = {"type": "semantic", "model_id": model_id}
    if search_model_id:
        mapping["search_model_id"] = search_model_id
    if chunking:
        mapping["chunking"] = chunking
    if skip_existing_embedding is not None:
        mapping["skip_existing_embedding"] = skip_existing_embedding
    if sparse:
        if mode or compression_level:
            raise ValueError("mode and compression_level are for a dense model's vectors, not a sparse model's.")
        if prune:
            mapping["sparse_encoding_config"] = prune
    else:
        if prune:
            raise ValueError("prune is for a sparse model's encoding, not a dense model's vectors.")
        if engine not in ENGINE_SPACES:
            raise ValueError(f"Unknown k-NN engine {engine!r}: use one of {', '.join(ENGINE_SPACES)}.")
        check_compression(engine, mode, compression_level)
        dense: dict[str, Any] = {"method": {"engine": engine}}
        dense.update({key: value for key, value in (("mode", mode), ("compression_level", compression_level)) if value})
        mapping["dense_embedding_config"] = dense
    settings: dict[str, Any] = {"index.knn": not sparse}
    if number_of_replicas is not None:
        settings["number_of_replicas"] = number_of_replicas
    if batch_size is not None:
        if not 1 <= batch_size <= 100:
            raise ValueError(f"batch_size must lie between 1 and 100 (the cluster's limit), not {batch_size}.")
        settings["index.neural_search.semantic_ingest_batch_size"] = batch_size
    return {"settings": settings, "mappings": {"properties": {field: mapping}}}


def create_semantic_index(client: OpenSearch, index: str, model_id: str, **options: Any) -> dict[str, Any]:
    """
    Create ``index`` with ``semantic_index_body(model_id, **options)``; returns the body sent.

    Before any write, it checks that the server has semantic fields (3.1+; the 3.2 settings need 3.2), and that the
    model is deployed and, if dense, registered with its space type.
    """
    require_feature(client, "semantic fields", SEMANTIC_VERSION, "use neural_document_store (an ingest pipeline)")
    uses_32 = any(options.get(key) for key in ("mode", "compression_level", "prune", "batch_size"))
    uses_32 = uses_32 or isinstance(options.get("chunking"), list) or options.get("skip_existing_embedding") is not None
    if uses_32:
        require_feature(client, "these semantic field settings", SEMANTIC_SETTINGS_VERSION, "leave them out")
    model = require_deployed(client, model_id)
    sparse = str(model.get("algorithm") or model.get("function_name")).upper() in SPARSE_FUNCTIONS
    space = ((model.get("model_config") or {}).get("additional_config") or {}).get("space_type")
    if not sparse and not space:
        raise ValueError(
            f"Model {model_id} ({model.get('name')}) has no model_config.additional_config.space_type, which a "
            f"semantic field needs: register it with PretrainedModelUploader on OpenSearch "
            f"{version_text(SEMANTIC_VERSION)}+ (it adds the catalog's space type)."
        )
    body = semantic_index_body(model_id, sparse=sparse, **options)
    client.indices.create(index=index, body=body)
    return body


def semantic_custom_query(field: str = TEXT_FIELD, k: int = 10) -> dict[str, Any]:
    """
    A `neural` query on a semantic field for ``OpenSearchBM25Retriever(custom_query=...)``.

    ``$query`` is the question; the field knows its model, so retrieval needs no embedder and no model id.
    """
    return {"query": {"neural": {field: {"query_text": "$query", "k": k}}}}
