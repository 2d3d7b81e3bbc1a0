"""
Reranking inside the cluster: a search pipeline whose ``rerank`` response processor scores the hits.

The processor (neural-search 2.12+) sends the query text and each hit's ``document_fields`` to a deployed
TEXT_SIMILARITY model and replaces the hits' scores by its raw logits, best first — the scores
``OpenSearchMLRanker`` and ``LocalOnnxRanker`` give for the same candidates. A search that uses the pipeline
passes the query as ``ext.rerank.query_context.query_text`` (``rerank_ext``): ``OpenSearchNeuralRetriever`` does
with ``search_pipeline=``, and opensearch-haystack's ``OpenSearchEmbeddingRetriever`` does through its public
``custom_query`` (``rerank_knn_query``), so one request retrieves and reranks. A request runs one search pipeline,
so a hybrid query that is also reranked uses one pipeline holding both (``combined_with=``).

Sources: ``../shared/docs/model-families.md`` §2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.indices.knn import VECTOR_FIELD
from opensearch_pretrained_haystack.indices.neural import TEXT_FIELD, require_deployed, require_neural_search

RERANK_MINIMUM_VERSION = (2, 12, 0)
"""The ``rerank`` search response processor with ``ml_opensearch``."""


def rerank_search_pipeline_body(
    model_id: str,
    *,
    document_fields: Sequence[str] = (TEXT_FIELD,),
    combined_with: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    A search pipeline that reranks the hits with ``model_id`` on ``document_fields``.

    ``document_fields`` is opensearch-haystack's ``content`` by default. ``combined_with`` is another pipeline body
    (``hybrid_search_pipeline_body()``) whose processors are kept, the rerank running last.
    """
    if isinstance(document_fields, str) or not document_fields:
        raise ValueError(f"document_fields must be a non-empty list of field names, not {document_fields!r}.")
    context = {"document_fields": list(document_fields)}
    rerank = {"rerank": {"ml_opensearch": {"model_id": model_id}, "context": context}}
    body = {key: value for key, value in (combined_with or {}).items() if key != "description"}
    description = f"Reranks hits on {list(document_fields)} with ML Commons cross-encoder {model_id}"
    if combined_with and combined_with.get("description"):
        description = f"{combined_with['description']}; then {description[0].lower()}{description[1:]}"
    return {
        **body,
        "description": description,
        "response_processors": [*body.get("response_processors", []), rerank],
    }


def rerank_ext(query_text: str) -> dict[str, Any]:
    """The ``ext`` block of a search request through a rerank pipeline: the text the hits are scored against."""
    return {"rerank": {"query_context": {"query_text": query_text}}}


def rerank_knn_query(query_text: str, *, search_pipeline: str, k: int, filtered: bool = False) -> dict[str, Any]:
    """
    A ``custom_query`` for opensearch-haystack's ``OpenSearchEmbeddingRetriever`` that reranks its k-NN hits.

    It runs the k-NN query through the rerank pipeline ``search_pipeline`` (named in the body, which OpenSearch accepts
    as the URL parameter), scoring the hits against ``query_text``::

        retriever.run(query_embedding=vector, custom_query=rerank_knn_query(text, search_pipeline=pid, k=100))

    ``k`` is how many neighbours are reranked (pass the retriever's ``top_k``, its ``size``). With
    ``filtered=True`` the retriever's filters go inside the k-NN clause (so k matching documents come back);
    leave it False when the run has no filters, since the retriever then renders the placeholder as null.
    """
    knn: dict[str, Any] = {"vector": "$query_embedding", "k": k}
    if filtered:
        knn["filter"] = "$filters"
    return {"query": {"knn": {VECTOR_FIELD: knn}}, "ext": rerank_ext(query_text), "search_pipeline": search_pipeline}


def create_rerank_search_pipeline(
    client: OpenSearch,
    pipeline_id: str,
    model_id: str,
    *,
    document_fields: Sequence[str] = (TEXT_FIELD,),
    combined_with: Mapping[str, Any] | None = None,
) -> str:
    """
    Create (or replace) the rerank search pipeline ``pipeline_id``; returns its id.

    With ``combined_with`` (a hybrid pipeline body, see ``rerank_search_pipeline_body``) it also normalizes a hybrid
    query's scores.

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
        id=pipeline_id,
        body=rerank_search_pipeline_body(model_id, document_fields=document_fields, combined_with=combined_with),
    )
    return pipeline_id
