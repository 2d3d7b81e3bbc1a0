"""
Sparse search over an ``SQLiteDocumentStore``.

Scored as OpenSearch's ``neural_sparse`` query scores a ``rank_features`` field.
"""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.components.retrievers.opensearch_pretrained._sqlite_retriever import SQLiteRetrieverBase


@component
class SQLiteSparseEmbeddingRetriever(SQLiteRetrieverBase):
    """
    The ``top_k`` documents whose sparse embeddings score best against a query's sparse embedding.

    Exact (every posting of the query's tokens is read), with the cluster's scores for the same maps: see
    ``SQLiteDocumentStore.sparse_retrieval``. Its input is Haystack's ``query_sparse_embedding``, as the sparse
    embedding retrievers of Haystack's Qdrant and Pinecone integrations take it.

    Usage example:
    ```python
    pipeline.add_component("embedder", LocalSparseTextEmbedder("opensearch-neural-sparse-tokenizer-v1"))
    pipeline.add_component("retriever", SQLiteSparseEmbeddingRetriever(document_store=store, top_k=5))
    pipeline.connect("embedder.sparse_embedding", "retriever.query_sparse_embedding")
    pipeline.run({"embedder": {"text": "what causes scurvy"}})
    ```
    """

    @component.output_types(documents=list[Document])
    def run(
        self,
        query_sparse_embedding: SparseEmbedding,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        Retrieve the documents that score best against the query.

        :param query_sparse_embedding: The query's sparse embedding.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents to return (the init ``top_k`` when None).
        :returns: ``documents``: the documents, best first, each with its score.
        """
        parameters = self._run_parameters(filters, top_k)
        return {"documents": self.document_store.sparse_retrieval(query_sparse_embedding, **parameters)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query_sparse_embedding: SparseEmbedding,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> dict[str, list[Document]]:
        """
        ``run`` on a worker thread.

        :param query_sparse_embedding: The query's sparse embedding.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents to return (the init ``top_k`` when None).
        :returns: ``documents``: the documents, best first, each with its score.
        """
        return await asyncio.to_thread(self.run, query_sparse_embedding, filters, top_k)
