"""Hybrid search over an ``SQLiteDocumentStore``: BM25 and k-NN fused as OpenSearch's search pipelines fuse them."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component
from haystack.document_stores.types import FilterPolicy

from haystack_integrations.components.retrievers.opensearch_pretrained._sqlite_retriever import SQLiteRetrieverBase
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    DEFAULT_BM25_WEIGHT,
    DEFAULT_FUSION,
    DEFAULT_PER_SOURCE,
    DEFAULT_RANK_CONSTANT,
    check_fusion,
)


@component
class SQLiteHybridRetriever(SQLiteRetrieverBase):
    """
    BM25 on ``query`` and k-NN on ``query_embedding``, each ``top_k`` deep, fused into the ``top_k`` best.

    ``fusion="min_max"`` or ``"z_score"`` is the normalization-processor (that normalization, then the arithmetic
    mean with weights ``bm25_weight`` and ``1 - bm25_weight``); ``fusion="rrf"`` is the score-ranker-processor
    (reciprocal rank fusion). ``lower_bounds`` (min-max only, BM25's then k-NN's, each
    ``{"mode": "apply"|"clip"|"ignore", "min_score": x}``) and ``min_score`` (drop fused scores below it) are
    OpenSearch 3.x's own options, computed as ``create_hybrid_search_pipeline`` makes the cluster compute them.
    With ``per_source``, each side's passages are grouped by source document before fusion (see
    ``SQLiteDocumentStore.hybrid_retrieval``).

    Usage example:
    ```python
    pipeline.add_component("embedder", LocalOnnxTextEmbedder("all-MiniLM-L6-v2"))
    pipeline.add_component("retriever", SQLiteHybridRetriever(document_store=store, bm25_weight=0.3))
    pipeline.connect("embedder.embedding", "retriever.query_embedding")
    pipeline.run({"embedder": {"text": question}, "retriever": {"query": question}})
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
        bm25_weight: float = DEFAULT_BM25_WEIGHT,
        rank_constant: int = DEFAULT_RANK_CONSTANT,
        lower_bounds: list[dict[str, Any]] | None = None,
        min_score: float | None = None,
        per_source: bool = DEFAULT_PER_SOURCE,
    ) -> None:
        """
        Create the retriever.

        :param document_store: The store to search.
        :param filters: Haystack filters applied to every run.
        :param top_k: How many documents to return, and how deep each side searches.
        :param filter_policy: How runtime filters combine with ``filters``.
        :param return_embedding: Whether the documents carry their vectors.
        :param fusion: ``"min_max"``, ``"z_score"`` or ``"rrf"``.
        :param bm25_weight: BM25's weight in ``min_max`` and ``z_score`` fusion (k-NN's is ``1 - bm25_weight``).
        :param rank_constant: The ``rrf`` rank constant.
        :param lower_bounds: ``min_max`` only: BM25's, then k-NN's lower bound.
        :param min_score: Fused scores below it are dropped.
        :param per_source: Group each side's passages by source document before fusion.
        :raises TypeError: ``document_store`` is not an ``SQLiteDocumentStore``.
        :raises ValueError: ``top_k`` below 1, an unknown ``fusion``, or ``lower_bounds`` without ``min_max`` fusion
            and two bounds.
        """
        SQLiteRetrieverBase.__init__(  # @component re-creates the class, so zero-argument super() cannot work
            self,
            document_store=document_store, filters=filters, top_k=top_k, filter_policy=filter_policy,
            return_embedding=return_embedding,
        )  # fmt: skip
        self._bounds = check_fusion(fusion, lower_bounds)
        if self._bounds is not None and len(self._bounds) != 2:
            raise ValueError("lower_bounds take min_max fusion and two bounds: BM25's, then k-NN's.")
        self.fusion = fusion
        self.bm25_weight = bm25_weight
        self.rank_constant = rank_constant
        self.lower_bounds = lower_bounds
        self.min_score = min_score
        self.per_source = per_source

    def _init_parameters(self) -> dict[str, Any]:
        """The fusion's parameters; the 3.x options only when set, so older pipelines serialize as before."""
        options = {
            "lower_bounds": self.lower_bounds,
            "min_score": self.min_score,
            "per_source": self.per_source or None,
        }
        return {
            "fusion": self.fusion, "bm25_weight": self.bm25_weight, "rank_constant": self.rank_constant,
            **{name: value for name, value in options.items() if value is not None},
        }  # fmt: skip

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        Retrieve by BM25 and k-NN, fused.

        :param query: The query text, for BM25.
        :param query_embedding: The query's vector, from the store's model, for k-NN.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents; defaults to the init ``top_k``.
        :returns: ``documents``: best first, with the fused ``score``.
        """
        documents = self.document_store.hybrid_retrieval(
            query, query_embedding, **self._run_parameters(filters, top_k),
            **{**self._init_parameters(), "lower_bounds": self._bounds, "min_score": self.min_score},
        )  # fmt: skip
        return {"documents": documents}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        ``run`` on a worker thread.

        :param query: The query text, for BM25.
        :param query_embedding: The query's vector, from the store's model, for k-NN.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents; defaults to the init ``top_k``.
        :returns: ``documents``: best first, with the fused ``score``.
        """
        return await asyncio.to_thread(self.run, query, query_embedding, filters, top_k)
