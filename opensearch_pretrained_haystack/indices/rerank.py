"""Reranking inside the cluster: a search pipeline whose ``rerank`` response processor scores the hits.

The processor (neural-search 2.12+) sends the query text and each hit's ``document_fields`` to a deployed
TEXT_SIMILARITY model and replaces the hits' scores by its raw logits, best first — the scores
``OpenSearchMLRanker`` and ``LocalOnnxRanker`` give for the same candidates. A search that uses the pipeline
passes the query as ``ext.rerank.query_context.query_text`` (``rerank_ext``).

Sources: ``../shared/docs/model-families.md`` §2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.indices.neural import TEXT_FIELD, require_deployed, require_neural_search

RERANK_MINIMUM_VERSION = (2, 12, 0)
"""The ``rerank`` search response processor with ``ml_opensearch``."""


def rerank_search_pipeline_body(model_id: str, *, document_fields: Sequence[str] = (TEXT_FIELD,)) -> dict[str, Any]:
    """A search pipeline that reranks the hits with ``model_id`` on ``document_fields`` (opensearch-haystack's
    ``content`` by default)."""
    if isinstance(document_fields, str) or not document_fields:
        raise ValueError(f"document_fields must be a non-empty list of field names, not {document_fields!r}.")
    return {
        "description": f"Reranks hits on {list(document_fields)} with ML Commons cross-encoder {model_id}",
        "response_processors": [
            {"rerank": {"ml_opensearch": {"model_id": model_id}, "context": {"document_fields": list(document_fields)}}}
        ],
    }


def rerank_ext(query_text: str) -> dict[str, Any]:
    """The ``ext`` block of a search request through a rerank pipeline: the text the hits are scored against."""
    return {"rerank": {"query_context": {"query_text": query_text}}}


def create_rerank_search_pipeline(
    client: OpenSearch, pipeline_id: str, model_id: str, *, document_fields: Sequence[str] = (TEXT_FIELD,)
) -> str:
    """Create (or replace) the rerank search pipeline ``pipeline_id``; returns its id.

    Checked here, since the cluster checks nothing when the pipeline is created: a cluster without neural-search
    2.12+ (``UnsupportedServerError``), a model that is not deployed (``ModelNotDeployedError``) or not a
    cross-encoder (``ModelInputError``).
    """
    require_neural_search(client, RERANK_MINIMUM_VERSION)
    model = require_deployed(client, model_id)
    if model.get("algorithm") != "TEXT_SIMILARITY":
        raise ModelInputError(
            f"ML Commons model {model_id} ({model.get('name')}) is a {model.get('algorithm')} model; the rerank "
            "processor needs a TEXT_SIMILARITY model (a cross-encoder such as ms-marco-MiniLM-L-6-v2)."
        )
    client.search_pipeline.put(
        id=pipeline_id, body=rerank_search_pipeline_body(model_id, document_fields=document_fields)
    )
    return pipeline_id
