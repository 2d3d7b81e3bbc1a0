"""
Hybrid search with sparse over an ``SQLiteDocumentStore``.

Sparse with BM25 and/or k-NN, fused as OpenSearch's hybrid search pipelines fuse them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.types import FilterPolicy

from haystack_integrations.components.retrievers.opensearch_pretrained._sqlite_retriever import SQLiteRetrieverBase
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    DEFAULT_FUSION,
    DEFAULT_RANK_CONSTANT,
    check_fusion,
)


@component
class SQLiteSparseHybridRetriever(SQLiteRetrieverBase):
    """
    Sparse search fused with BM25 on ``query`` and/or k-NN on ``query_embedding``, each ``top_k`` deep.

    The sub-queries are BM25 (when ``query`` is given), k-NN (when ``query_embedding`` is given) and sparse, in that
    order; ``weights`` and ``lower_bounds`` follow it. Fusion is ``SQLiteHybridRetriever``'s: ``min_max`` or
    ``z_score`` (the normalization-processor, equal weights by default) or ``rrf`` (the score-ranker-processor).

    Usage example:
    ```python
    pipeline.add_component("sparse", LocalSparseTextEmbedder("opensearch-neural-sparse-tokenizer-v1"))
    pipeline.add_component("retriever", SQLiteSparseHybridRetriever(document_store=store, fusion="rrf"))
    pipeline.connect("sparse.sparse_embedding", "retriever.query_sparse_embedding")
    pipeline.run({"sparse": {"text": question}, "retriever": {"query": question}})
    ```
    """

    def __init__(
        self,
        *,
        document_store: SQLiteDocumentStore,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
        return_embedding: bool = False,
        fusion: str = DEFAULT_FUSION,
        weights: list[float] | None = None,
        rank_constant: int = DEFAULT_RANK_CONSTANT,
        lower_bounds: list[dict[str, Any]] | None = None,
        min_score: float | None = None,
    ) -> None:
        """
        Create the retriever.

        :param document_store: The store to search.
        :param filters: Haystack filters applied to every sub-query.
        :param top_k: How many documents each sub-query finds and the fusion returns.
        :param filter_policy: How runtime filters combine with ``filters``.
        :param return_embedding: Whether the documents carry their dense embeddings.
        :param fusion: ``min_max``, ``z_score`` or ``rrf``.
        :param weights: ``min_max``/``z_score`` weights, one per sub-query present (BM25, k-NN, sparse).
        :param rank_constant: ``rrf``'s rank constant.
        :param lower_bounds: ``min_max`` only: one ``{"mode": ..., "min_score": ...}`` per sub-query present.
        :param min_score: Fused scores below it are dropped.
        :raises ValueError: For an unknown fusion, or lower bounds with another fusion than ``min_max``.
        """
        SQLiteRetrieverBase.__init__(  # @component re-creates the class, so zero-argument super() cannot work
            self,
            document_store=document_store, filters=filters, top_k=top_k, filter_policy=filter_policy,
            return_embedding=return_embedding,
        )  # fmt: skip
        self._bounds = check_fusion(fusion, lower_bounds)
        self.fusion = fusion
        self.weights = weights
        self.rank_constant = rank_constant
        self.lower_bounds = lower_bounds
        self.min_score = min_score

    def _init_parameters(self) -> dict[str, Any]:
        """The fusion's parameters."""
        return {
            "fusion": self.fusion, "weights": self.weights, "rank_constant": self.rank_constant,
            "lower_bounds": self.lower_bounds, "min_score": self.min_score,
        }  # fmt: skip

    @component.output_types(documents=list[Document])
    def run(
        self,
        query_sparse_embedding: SparseEmbedding,
        query: str | None = None,
        query_embedding: list[float] | None = None,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        Retrieve by the fused sub-queries.

        :param query_sparse_embedding: The query's sparse embedding.
        :param query: The query text, for a BM25 sub-query.
        :param query_embedding: The query's dense embedding, for a k-NN sub-query.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents to return (the init ``top_k`` when None).
        :returns: ``documents``: the documents, best first, each with its fused score.
        :raises ValueError: With neither ``query`` nor ``query_embedding``.
        """
        documents = self.document_store.sparse_hybrid_retrieval(
            query_sparse_embedding, query=query, query_embedding=query_embedding,
            **self._run_parameters(filters, top_k), **{**self._init_parameters(), "lower_bounds": self._bounds},
        )  # fmt: skip
        return {"documents": documents}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query_sparse_embedding: SparseEmbedding,
        query: str | None = None,
        query_embedding: list[float] | None = None,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        ``run`` on a worker thread.

        :param query_sparse_embedding: The query's sparse embedding.
        :param query: The query text, for a BM25 sub-query.
        :param query_embedding: The query's dense embedding, for a k-NN sub-query.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents to return (the init ``top_k`` when None).
        :returns: ``documents``: the documents, best first, each with its fused score.
        """
        return await asyncio.to_thread(self.run, query_sparse_embedding, query, query_embedding, filters, top_k)
