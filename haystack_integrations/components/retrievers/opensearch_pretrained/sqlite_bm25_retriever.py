"""BM25 keyword search over an ``SQLiteDocumentStore`` (SQLite FTS5)."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component

from haystack_integrations.components.retrievers.opensearch_pretrained._sqlite_retriever import SQLiteRetrieverBase


@component
class SQLiteBM25Retriever(SQLiteRetrieverBase):
    """
    The ``top_k`` documents by BM25 over the query's words, any of which may match (as OpenSearch's ``match``).

    Usage example:
    ```python
    retriever = SQLiteBM25Retriever(document_store=SQLiteDocumentStore(path="store.sqlite"), top_k=5)
    retriever.run(query="what causes scurvy")
    ```
    """

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """
        Retrieve the documents that best match ``query`` by BM25.

        :param query: The query text.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents; defaults to the init ``top_k``.
        :returns: ``documents``: best first, with ``score``.
        """
        return {"documents": self.document_store.bm25_retrieval(query, **self._run_parameters(filters, top_k))}

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """
        ``run`` on a worker thread.

        :param query: The query text.
        :param filters: Haystack filters, combined with the init filters by ``filter_policy``.
        :param top_k: How many documents; defaults to the init ``top_k``.
        :returns: ``documents``: best first, with ``score``.
        """
        return await asyncio.to_thread(self.run, query, filters, top_k)
