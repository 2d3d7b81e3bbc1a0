"""
`OpenSearchNeuralSparseRetriever`: a `neural_sparse` query, encoded by the cluster or on this machine.

Two ways to give the query: `query` text with `model_id` (the cluster encodes it with a deployed SPARSE_ENCODING or
SPARSE_TOKENIZE model), or `query_sparse_embedding` (e.g. from `LocalSparseTextEmbedder`), sent as `query_tokens`
after the vocabulary turns its indices back into token strings (a `sparse_vector` index takes the ids as they
are). Both give the same hits and scores when the local tokenizer is the cluster's model. With
`hybrid_search_pipeline` and `dense_model_id`, the dense `neural` clause of `OpenSearchNeuralRetriever` and the
sparse clause run as one `hybrid` query that the search pipeline normalizes and combines (weights: dense, sparse).
"""

from __future__ import annotations

import logging
from typing import Any

from haystack import Document, component, default_to_dict
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.types import FilterPolicy
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy.exceptions import TransportError

from haystack_integrations.components.retrievers.opensearch_pretrained.cluster_search import (
    from_dict_with_store,
    query_filters,
    search,
    search_async,
    serialized_store,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.neural_retriever import neural_clause
from opensearch_pretrained_haystack.artifacts import Lease
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.cluster.errors import from_transport_error
from opensearch_pretrained_haystack.indices.knn import VECTOR_FIELD
from opensearch_pretrained_haystack.indices.sparse import (
    RANK_FEATURES,
    SPARSE_FIELD,
    SparseFieldType,
    sparse_field_value,
)
from opensearch_pretrained_haystack.inference.sparse_tokenizer import (
    SparseVocabulary,
    resolve_sparse_artifact,
    shared_vocabulary,
)

logger = logging.getLogger(__name__)


def neural_sparse_clause(
    *, query: str | None, model_id: str | None, query_tokens: dict[str, float] | None, filters: dict[str, Any] | None
) -> dict[str, Any]:
    """A `neural_sparse` query on the sparse field, in a `bool` filter when there are filters (scores unchanged)."""
    sparse: dict[str, Any] = (
        {"query_tokens": query_tokens} if query_tokens is not None else {"query_text": query, "model_id": model_id}
    )
    clause = {"neural_sparse": {SPARSE_FIELD: sparse}}
    return {"bool": {"must": [clause], "filter": filters}} if filters else clause


@component
class OpenSearchNeuralSparseRetriever:
    """
    Retrieves documents of a neural sparse index (see `opensearch_pretrained_haystack.indices.sparse`).

    Usage example:
    ```python
    from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralSparseRetriever

    # The cluster encodes the query with a deployed tokenizer (or the index's encoder):
    retriever = OpenSearchNeuralSparseRetriever(document_store=store, model_id=tokenizer_model_id)
    documents = retriever.run(query="how do I cook risotto?")["documents"]
    # Or encode it here with LocalSparseTextEmbedder and pass its vocabulary:
    retriever = OpenSearchNeuralSparseRetriever(
        document_store=store, vocabulary="opensearch-neural-sparse-tokenizer-v1"
    )
    documents = retriever.run(query_sparse_embedding=embedding)["documents"]
    ```
    """

    def __init__(
        self,
        *,
        document_store: OpenSearchDocumentStore,
        model_id: str | None = None,
        vocabulary: str | None = None,
        vocabulary_version: str | None = None,
        field_type: SparseFieldType = RANK_FEATURES,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        filter_policy: str | FilterPolicy = FilterPolicy.REPLACE,
        hybrid_search_pipeline: str | None = None,
        dense_model_id: str | None = None,
        num_candidates: int | None = None,
        mirror: str | None = None,
        cache_dir: str | None = None,
        raise_on_failure: bool = True,
    ) -> None:
        """
        Create the retriever; nothing is contacted or loaded until `run`.

        :param document_store: The OpenSearchDocumentStore of a sparse index.
        :param model_id: A deployed sparse model that encodes `query` text in the cluster.
        :param vocabulary: The model's vocabulary (catalog sparse model, or a directory / zip of one), which turns a
            `query_sparse_embedding` into `query_tokens` (not needed for a `sparse_vector` index).
        :param vocabulary_version: The catalog version of `vocabulary`; `None` takes the newest.
        :param field_type: The index's sparse field type, `rank_features` or `sparse_vector` (OpenSearch 3.3+).
        :param filters: Haystack filters applied to every query.
        :param top_k: How many documents to return.
        :param filter_policy: "replace" (runtime filters replace `filters`) or "merge".
        :param hybrid_search_pipeline: A search pipeline with a normalization processor
            (`create_hybrid_search_pipeline`); with `dense_model_id`, the query is dense + sparse in one `hybrid` query.
        :param dense_model_id: The deployed dense model of the index's `embedding` field (hybrid mode only).
        :param num_candidates: Neighbours the dense clause gathers (OpenSearch's `k`); defaults to `top_k`.
        :param mirror: Where the vocabulary's artifact is read from, for offline machines.
        :param cache_dir: Where verified artifacts are kept.
        :param raise_on_failure: If False, a failed search is logged and returns no documents.
        """
        if not isinstance(document_store, OpenSearchDocumentStore):
            raise TypeError("document_store must be an instance of OpenSearchDocumentStore")
        if (hybrid_search_pipeline is None) != (dense_model_id is None):
            raise ValueError("hybrid_search_pipeline and dense_model_id go together: set both for hybrid search.")
        self.document_store = document_store
        self.model_id = model_id
        self.vocabulary = vocabulary
        self.vocabulary_version = vocabulary_version
        self.field_type = field_type
        self.filters = filters or {}
        self.top_k = top_k
        self.filter_policy = (
            filter_policy if isinstance(filter_policy, FilterPolicy) else FilterPolicy.from_str(filter_policy)
        )
        self.hybrid_search_pipeline = hybrid_search_pipeline
        self.dense_model_id = dense_model_id
        self.num_candidates = num_candidates
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.raise_on_failure = raise_on_failure
        self._vocabulary: SparseVocabulary | None = None
        self._vocabulary_lease: Lease[SparseVocabulary] | None = None

    def warm_up(self) -> None:
        """Load the vocabulary (if one is set); calling it again does nothing."""
        if self.vocabulary is not None and self._vocabulary is None:
            self._vocabulary_lease = shared_vocabulary(
                resolve_sparse_artifact(
                    self.vocabulary, self.vocabulary_version, mirror=self.mirror, cache_dir=self.cache_dir
                )
            )
            self._vocabulary = self._vocabulary_lease.value

    def close(self) -> None:
        """Give back this retriever's share of the vocabulary; the next ``run`` warms up again."""
        if self._vocabulary_lease is not None:
            self._vocabulary_lease.release()
        self._vocabulary = self._vocabulary_lease = None

    def to_dict(self) -> dict[str, Any]:
        """
        Serialize the component (the store through its own `to_dict`).

        :returns: The dictionary Haystack's ``default_to_dict`` makes.
        :raises ValueError: A host URL holds a password.
        """
        return default_to_dict(
            self,
            document_store=serialized_store(self.document_store, self),
            model_id=self.model_id,
            vocabulary=self.vocabulary,
            vocabulary_version=self.vocabulary_version,
            field_type=self.field_type,
            filters=self.filters,
            top_k=self.top_k,
            filter_policy=self.filter_policy.value,
            hybrid_search_pipeline=self.hybrid_search_pipeline,
            dense_model_id=self.dense_model_id,
            num_candidates=self.num_candidates,
            mirror=self.mirror,
            cache_dir=self.cache_dir,
            raise_on_failure=self.raise_on_failure,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchNeuralSparseRetriever:
        """
        Deserialize the component.

        :param data: What ``to_dict`` returned; it is left unchanged.
        :returns: The component.
        """
        return from_dict_with_store(cls, data)

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str | None = None,
        query_sparse_embedding: SparseEmbedding | None = None,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        Retrieve the documents that best match the query.

        :param query: The query text, encoded by the cluster with `model_id` (and embedded densely in hybrid mode).
        :param query_sparse_embedding: The query encoded here (e.g. `LocalSparseTextEmbedder`); wins over `model_id`.
        :param filters: Haystack filters, combined with the init filters by `filter_policy`.
        :param top_k: How many documents; defaults to the init `top_k`.
        :returns: `documents`: best first, with `score` (normalized to [0, 1] in hybrid mode).
        """
        body, params = self._request(query, query_sparse_embedding, filters, top_k)
        try:
            return {"documents": search(self.document_store, body, params)}
        except TransportError as error:
            return {"documents": self._failed(error)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str | None = None,
        query_sparse_embedding: SparseEmbedding | None = None,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        The async twin of `run`, through the store's async client.

        :param query: The query text, encoded by the cluster with `model_id` (and embedded densely in hybrid mode).
        :param query_sparse_embedding: The query encoded here (e.g. `LocalSparseTextEmbedder`); wins over `model_id`.
        :param filters: Haystack filters, combined with the init filters by `filter_policy`.
        :param top_k: How many documents; defaults to the init `top_k`.
        :returns: `documents`: best first, with `score` (normalized to [0, 1] in hybrid mode).
        """
        body, params = self._request(query, query_sparse_embedding, filters, top_k)
        try:
            return {"documents": await search_async(self.document_store, body, params)}
        except TransportError as error:
            return {"documents": self._failed(error)}

    def _request(
        self,
        query: str | None,
        embedding: SparseEmbedding | None,
        filters: dict[str, Any] | None,
        top_k: int | None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The search body and URL parameters for one query."""
        pipeline = self.hybrid_search_pipeline
        if embedding is None and not (query and self.model_id):
            raise ValueError(
                "Give query_sparse_embedding, or query text with the retriever's model_id (a deployed sparse model)."
            )
        if pipeline is not None and not query:
            raise ValueError("Hybrid search needs the query text for its dense clause.")
        query_tokens = None
        if embedding is not None:
            self.warm_up()
            query_tokens = sparse_field_value(embedding, self.field_type, self._vocabulary)
        store = self.document_store
        normalized = query_filters(store, self.filter_policy, self.filters, filters)
        size = top_k or self.top_k
        sparse = neural_sparse_clause(
            query=query, model_id=self.model_id, query_tokens=query_tokens, filters=normalized
        )
        if pipeline is not None:
            assert query is not None and self.dense_model_id is not None
            dense = neural_clause(query, self.dense_model_id, max(self.num_candidates or size, size), normalized)
            sparse = {"hybrid": {"queries": [dense, sparse]}}
        excludes = [SPARSE_FIELD] if adapter.returns_embeddings(store) else [SPARSE_FIELD, VECTOR_FIELD]
        body = {"query": sparse, "size": size, "_source": {"excludes": excludes}}
        return body, ({"search_pipeline": pipeline} if pipeline is not None else {})

    def _failed(self, error: TransportError) -> list[Document]:
        """Raise an error that says what to do, or (raise_on_failure=False) log it and return no documents."""
        model = f" with model {self.model_id}" if self.model_id else ""
        where = adapter.describe(self.document_store)
        failure = from_transport_error(error, what=f"Neural sparse search{model} in {where}")
        if self.raise_on_failure:
            raise failure from error
        logger.warning("Neural sparse search failed and returns no documents: %s", failure)
        return []
