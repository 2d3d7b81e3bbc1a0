"""Exact k-NN over an ``SQLiteDocumentStore``, scored as OpenSearch's k-NN scores the model's space."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component

from haystack_integrations.components.retrievers.opensearch_pretrained._sqlite_retriever import SQLiteRetrieverBase


@component
class SQLiteEmbeddingRetriever(SQLiteRetrieverBase):
    """
    The ``top_k`` documents nearest to a query embedding (brute force: the exact top-k, not an approximation).

    Usage example:
    ```python
    store = SQLiteDocumentStore(path="store.sqlite")
    retriever = SQLiteEmbeddingRetriever(document_store=store, top_k=5)
    retriever.run(query_embedding=LocalOnnxTextEmbedder("all-MiniLM-L6-v2").run("a question")["embedding"])
    ```
    """

    @component.output_types(documents=list[Document])
    def run(
        self, query_embedding: list[float], filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """
        Retrieve the documents whose vectors are nearest ``query_embedding``.

        :param query_embedding: The query's vector, from the store's model.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents; defaults to the init ``top_k``.
        :returns: ``documents``: best first, with ``score``.
        """
        documents = self.document_store.embedding_retrieval(query_embedding, **self._run_parameters(filters, top_k))
        return {"documents": documents}

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query_embedding: list[float], filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """
        ``run`` on a worker thread (SQLite and numpy release the GIL for the heavy part).

        :param query_embedding: The query's vector, from the store's model.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents; defaults to the init ``top_k``.
        :returns: ``documents``: best first, with ``score``.
        """
        return await asyncio.to_thread(self.run, query_embedding, filters, top_k)
