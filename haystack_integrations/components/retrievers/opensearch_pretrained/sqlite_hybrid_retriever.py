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
    FUSIONS,
)


@component
class SQLiteHybridRetriever(SQLiteRetrieverBase):
    """BM25 on ``query`` and k-NN on ``query_embedding``, each ``top_k`` deep, fused into the ``top_k`` best.

    ``fusion="min_max"`` is the normalization-processor (min-max, arithmetic mean with weights ``bm25_weight`` and
    ``1 - bm25_weight``); ``fusion="rrf"`` is the score-ranker-processor (reciprocal rank fusion). With
    ``per_source``, each side's passages are grouped by source document before fusion (see
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
        per_source: bool = DEFAULT_PER_SOURCE,
    ) -> None:
        SQLiteRetrieverBase.__init__(  # @component re-creates the class, so zero-argument super() cannot work
            self,
            document_store=document_store, filters=filters, top_k=top_k, filter_policy=filter_policy,
            return_embedding=return_embedding,
        )  # fmt: skip
        if fusion not in FUSIONS:
            raise ValueError(f"Unknown fusion {fusion!r}; use one of {', '.join(FUSIONS)}.")
        self.fusion = fusion
        self.bm25_weight = bm25_weight
        self.rank_constant = rank_constant
        self.per_source = per_source

    def _init_parameters(self) -> dict[str, Any]:
        return {
            "fusion": self.fusion, "bm25_weight": self.bm25_weight, "rank_constant": self.rank_constant,
            "per_source": self.per_source,
        }  # fmt: skip

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """Retrieve; runtime ``filters`` combine with the init filters by ``filter_policy``."""
        documents = self.document_store.hybrid_retrieval(
            query, query_embedding, **self._run_parameters(filters, top_k), **self._init_parameters()
        )
        return {"documents": documents}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """``run`` on a worker thread."""
        return await asyncio.to_thread(self.run, query, query_embedding, filters, top_k)
