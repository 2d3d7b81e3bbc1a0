"""
`OpenSearchNeuralRetriever`: the cluster embeds the query (a `neural` query), optionally mixed with BM25.

opensearch-haystack 9.0.0 has no `neural` query and its hybrid retriever fuses results on the client; this
retriever sends the query text and a deployed model id, so no embedder runs in the pipeline, and its hybrid
mode is OpenSearch's own `hybrid` query, scored by a normalizing search pipeline
(`opensearch_pretrained_haystack.indices.neural.create_hybrid_search_pipeline`). It reads the index through the
store's own client and turns hits into Documents with the store's own conversion, as the package's
retrievers do.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from typing import Any

from haystack import Document, component, default_to_dict
from haystack.document_stores.types import FilterPolicy
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy.exceptions import TransportError

from haystack_integrations.components.retrievers.opensearch_pretrained.cluster_search import (
    from_dict_with_store,
    query_filters,
    search_hits,
    search_hits_async,
    serialized_store,
)
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.cluster.errors import UnsupportedServerError, from_transport_error
from opensearch_pretrained_haystack.cluster.versions import HYBRID_MIN_SCORE_VERSION
from opensearch_pretrained_haystack.compatibility import IndexMismatchError
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.highlighting.documents import with_highlights
from opensearch_pretrained_haystack.highlighting.search import highlight_clause, read_fragment
from opensearch_pretrained_haystack.indices.knn import VECTOR_FIELD
from opensearch_pretrained_haystack.indices.neural import TEXT_FIELD, require_feature, require_query_model
from opensearch_pretrained_haystack.indices.rerank import rerank_ext

logger = logging.getLogger(__name__)
_UNKNOWN_QUERY = re.compile(r"(unknown query|no \[query\] registered for) \[(neural|hybrid)\]")
"""How a cluster without the neural-search plugin answers a `neural` or `hybrid` query."""


def neural_clause(query: str, model_id: str, k: int, filters: dict[str, Any] | None) -> dict[str, Any]:
    """A `neural` query on the `embedding` field; the filter goes inside it, so k-NN returns k matching documents."""
    neural: dict[str, Any] = {"query_text": query, "model_id": model_id, "k": k}
    if filters:
        neural["filter"] = filters
    return {"neural": {VECTOR_FIELD: neural}}


def match_clause(query: str, filters: dict[str, Any] | None) -> dict[str, Any]:
    """A BM25 `match` on `content`, filtered like the neural clause so both sides rank the same documents."""
    match = {"match": {TEXT_FIELD: {"query": query}}}
    return {"bool": {"must": [match], "filter": filters}} if filters else match


def search_body(
    query: str,
    model_id: str,
    top_k: int,
    filters: dict[str, Any] | None,
    *,
    num_candidates: int | None = None,
    hybrid: bool = False,
    return_embedding: bool = False,
) -> dict[str, Any]:
    """
    The `_search` body: a neural query, or a hybrid query of BM25 and neural (filters already normalized).

    The neural clause gathers `max(num_candidates, top_k)` neighbours (OpenSearch's `k`); the best `top_k` are returned.
    """
    neural = neural_clause(query, model_id, max(num_candidates or top_k, top_k), filters)
    body: dict[str, Any] = {
        "query": {"hybrid": {"queries": [match_clause(query, filters), neural]}} if hybrid else neural,
        "size": top_k,
    }
    if not return_embedding:  # as the store does: vectors are large and rarely needed in results
        body["_source"] = {"excludes": [VECTOR_FIELD]}
    return body


@component
class OpenSearchNeuralRetriever:
    """
    Retrieves documents for a text query embedded by the cluster with a deployed ML Commons model.

    The index must hold vectors from the same model: written with an ingest pipeline
    (`opensearch_pretrained_haystack.indices.neural.neural_document_store`) or by an embedder of that model.
    With `hybrid_search_pipeline`, a BM25 `match` on `content` and the `neural` query run as one OpenSearch
    `hybrid` query whose scores that search pipeline normalizes and combines (OpenSearch 2.10+).
    With `search_pipeline` (a rerank pipeline, `create_rerank_search_pipeline`), the cluster's cross-encoder
    rescores the hits in the same request: the query text goes along as `ext.rerank.query_context.query_text`.
    With `highlight_model_id` (a deployed semantic sentence highlighter, OpenSearch 3.0+), the cluster also
    highlights the sentences of each hit that answer the query, in the same request: each document carries them as
    `LocalSemanticHighlighter` would (`meta["semantic_highlights"]`, `meta["semantic_highlight"]`).

    Usage example:
    ```python
    from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralRetriever

    retriever = OpenSearchNeuralRetriever(document_store=store, model_id=model_id, top_k=5)
    documents = retriever.run(query="how do I cook risotto?")["documents"]
    ```
    """

    def __init__(
        self,
        *,
        document_store: OpenSearchDocumentStore,
        model_id: str,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        filter_policy: str | FilterPolicy = FilterPolicy.REPLACE,
        num_candidates: int | None = None,
        hybrid_search_pipeline: str | None = None,
        search_pipeline: str | None = None,
        min_score: float | None = None,
        highlight_model_id: str | None = None,
        raise_on_failure: bool = True,
    ) -> None:
        """
        Create the retriever; nothing is contacted until `run`.

        :param document_store: The OpenSearchDocumentStore whose index holds the model's vectors.
        :param model_id: The deployed ML Commons model that embeds the query (the one that embedded the documents).
        :param filters: Haystack filters applied to every query.
        :param top_k: How many documents to return.
        :param filter_policy: "replace" (runtime filters replace `filters`) or "merge".
        :param num_candidates: How many neighbours the approximate (HNSW) search gathers before the best `top_k`
            are returned (OpenSearch's `k`); defaults to `top_k`. Raise it when recall matters more than latency.
        :param hybrid_search_pipeline: Name of a search pipeline with a normalization processor (see
            `create_hybrid_search_pipeline`); when set, the query is BM25 + neural in one `hybrid` query.
        :param search_pipeline: Name of a rerank search pipeline (see `create_rerank_search_pipeline`): the hits
            come back rescored by its cross-encoder (raw logits, best first). A request runs one pipeline, so in
            hybrid mode this must be the same pipeline, holding both (`combined_with=hybrid_search_pipeline_body()`).
        :param min_score: Leave out hits scoring below it. In hybrid mode it applies to the fused scores
            (OpenSearch 3.5+, checked on the first run); otherwise to the neural query's k-NN scores.
        :param highlight_model_id: A deployed sentence highlighter: highlight the hits' sentences that answer the
            query (neural-search's `semantic` highlighter; its question is the query text, and in hybrid mode the
            match clause's analyzed terms and the query text joined, as neural-search 3.6 extracts it).
        :param raise_on_failure: If False, a failed search is logged and returns no documents.
        """
        if not isinstance(document_store, OpenSearchDocumentStore):
            raise TypeError("document_store must be an instance of OpenSearchDocumentStore")
        if not model_id:
            raise ValueError(
                "model_id is required: the id of a deployed ML Commons model (see PretrainedModelUploader)."
            )
        self.document_store = document_store
        self.model_id = model_id
        self.filters = filters or {}
        self.top_k = top_k
        self.filter_policy = (
            filter_policy if isinstance(filter_policy, FilterPolicy) else FilterPolicy.from_str(filter_policy)
        )
        if search_pipeline and hybrid_search_pipeline and search_pipeline != hybrid_search_pipeline:
            raise ValueError(
                f"A search request runs one search pipeline, not both {hybrid_search_pipeline!r} and "
                f"{search_pipeline!r}: create one that normalizes and reranks (create_rerank_search_pipeline with "
                "combined_with=hybrid_search_pipeline_body()) and pass its name as both."
            )
        self.num_candidates = num_candidates
        self.hybrid_search_pipeline = hybrid_search_pipeline
        self.search_pipeline = search_pipeline
        if min_score is not None and not math.isfinite(min_score):
            raise ValueError(f"min_score must be a finite number, not {min_score!r}.")
        self.min_score = min_score
        self._min_score_checked = False
        self.highlight_model_id = highlight_model_id
        self.raise_on_failure = raise_on_failure
        self._query_model_checked = False

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
            filters=self.filters,
            top_k=self.top_k,
            filter_policy=self.filter_policy.value,
            num_candidates=self.num_candidates,
            hybrid_search_pipeline=self.hybrid_search_pipeline,
            search_pipeline=self.search_pipeline,
            min_score=self.min_score,
            highlight_model_id=self.highlight_model_id,
            raise_on_failure=self.raise_on_failure,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchNeuralRetriever:
        """
        Deserialize the component.

        :param data: What ``to_dict`` returned; it is left unchanged.
        :returns: The component.
        """
        return from_dict_with_store(cls, data)

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """
        Retrieve the documents closest to `query` as embedded by the cluster.

        :param query: The query text.
        :param filters: Haystack filters, combined with the init filters by `filter_policy`.
        :param top_k: How many documents; defaults to the init `top_k`.
        :returns: `documents`: best first, with `score` (normalized to [0, 1] in hybrid mode, the cross-encoder's
            logit with `search_pipeline`).
        """
        body, params = self._request(query, filters, top_k)
        if not self._query_model_fits():
            return {"documents": []}
        try:
            return {"documents": self._documents(search_hits(self.document_store, body, params))}
        except TransportError as error:
            return {"documents": self._failed(error)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """
        The async twin of `run`, through the store's async client.

        :param query: The query text.
        :param filters: Haystack filters, combined with the init filters by `filter_policy`.
        :param top_k: How many documents; defaults to the init `top_k`.
        :returns: `documents`: best first, with `score` (normalized to [0, 1] in hybrid mode, the cross-encoder's
            logit with `search_pipeline`).
        """
        body, params = self._request(query, filters, top_k)
        if not await asyncio.to_thread(self._query_model_fits):
            return {"documents": []}
        try:
            return {"documents": self._documents(await search_hits_async(self.document_store, body, params))}
        except TransportError as error:
            return {"documents": self._failed(error)}

    def _request(
        self, query: str, filters: dict[str, Any] | None, top_k: int | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The search body and URL parameters for one query."""
        if not query:
            raise ValueError("query must be a non-empty string.")
        store = self.document_store
        normalized = query_filters(store, self.filter_policy, self.filters, filters)
        hybrid = self.hybrid_search_pipeline is not None
        body = search_body(
            query,
            self.model_id,
            top_k or self.top_k,
            normalized,
            num_candidates=self.num_candidates,
            hybrid=hybrid,
            return_embedding=adapter.returns_embeddings(store),
        )
        if self.min_score is not None:
            if hybrid and not self._min_score_checked:
                require_feature(
                    adapter.connected_client(store), "min_score for hybrid queries", HYBRID_MIN_SCORE_VERSION,
                    "leave min_score out, or filter the returned scores yourself",
                )  # fmt: skip
                self._min_score_checked = True
            body["min_score"] = self.min_score
        if self.search_pipeline is not None:
            body["ext"] = rerank_ext(query)
        if self.highlight_model_id is not None:
            body["highlight"] = highlight_clause(TEXT_FIELD, self.highlight_model_id)
        pipeline = self.search_pipeline or self.hybrid_search_pipeline
        return body, {} if pipeline is None else {"search_pipeline": pipeline}

    def _documents(self, hits: list[dict[str, Any]]) -> list[Document]:
        """The hits as Documents, with the cluster's semantic highlights (if asked for) read into their meta."""
        fragments = [hit.pop("highlight", {}).get(TEXT_FIELD) for hit in hits]  # the store's converter cannot take it
        documents = adapter.hits_to_documents(hits)
        if self.highlight_model_id is None:
            return documents
        return [_with_cluster_highlights(d, f[0] if f else None) for d, f in zip(documents, fragments, strict=True)]

    def _query_model_fits(self) -> bool:
        """
        On the first query, refuse a model that is not the one the index records (``require_query_model``).

        False when that check failed and ``raise_on_failure`` is off (logged; checked again next time).
        """
        if self._query_model_checked:
            return True
        try:
            store = self.document_store
            require_query_model(adapter.connected_client(store), adapter.index_name(store), self.model_id)
        except OpenSearchPretrainedError as error:
            if self.raise_on_failure or isinstance(error, IndexMismatchError):
                raise
            logger.warning("Neural search failed and returns no documents: %s", error)
            return False
        self._query_model_checked = True
        return True

    def _failed(self, error: TransportError) -> list[Document]:
        """Raise an error that says what to do, or (raise_on_failure=False) log it and return no documents."""
        failure = _explain(error, self.model_id)
        if self.raise_on_failure:
            raise failure from error
        logger.warning("Neural search failed and returns no documents: %s", failure)
        return []


def _with_cluster_highlights(document: Document, fragment: str | None) -> Document:
    """
    `document` with the sentences the cluster's fragment marks.

    Without a readable fragment it is kept as it is (logged), so a wrongly placed highlight is never reported.
    """
    if fragment is None or not document.content:
        return document
    try:
        return with_highlights(document, read_fragment(document.content, fragment))
    except ValueError as error:
        logger.warning("Document %s keeps no semantic highlights: %s.", document.id, error)
        return document


def _explain(error: TransportError, model_id: str) -> Exception:
    """Name the way out of the failures users meet: no neural-search plugin, model missing or not deployed."""
    reason = str(error.info)
    if _UNKNOWN_QUERY.search(reason):
        return UnsupportedServerError(
            f"The cluster cannot run this query ({reason}): neural search needs the opensearch-neural-search plugin "
            "(OpenSearch 2.9+, hybrid 2.10+). Install it, or embed on the client with OpenSearchEmbeddingRetriever."
        )
    return from_transport_error(error, what=f"Neural search with model {model_id}")
