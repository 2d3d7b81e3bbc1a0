"""
The ``*_async`` operations of the SQLite store, as Haystack 3.x's async pipelines and stores expect them.

Python's ``sqlite3`` has no asynchronous interface, so each one runs its synchronous twin on a worker thread
(``asyncio.to_thread``): the event loop stays free while SQLite and the k-NN scan work. They are not concurrent
with each other: one store has one connection, and its calls take turns on it (several stores, or processes, on
one file do read in parallel).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.opensearch_pretrained import scoring

if TYPE_CHECKING:
    from haystack_integrations.document_stores.opensearch_pretrained.document_store import SQLiteDocumentStore


class AsyncOperations:
    """The store's operations as coroutines, each its synchronous method on a worker thread."""

    @property
    def _store(self) -> SQLiteDocumentStore:
        return cast("SQLiteDocumentStore", self)  # the one class this is mixed into

    async def count_documents_async(self) -> int:
        """See ``count_documents``."""
        return await asyncio.to_thread(self._store.count_documents)

    async def filter_documents_async(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """See ``filter_documents``."""
        return await asyncio.to_thread(self._store.filter_documents, filters)

    async def write_documents_async(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """See ``write_documents``."""
        return await asyncio.to_thread(self._store.write_documents, documents, policy)

    async def delete_documents_async(self, document_ids: list[str]) -> None:
        """See ``delete_documents``."""
        await asyncio.to_thread(self._store.delete_documents, document_ids)

    async def delete_all_documents_async(self, recreate_index: bool = False) -> None:
        """See ``delete_all_documents``."""
        await asyncio.to_thread(self._store.delete_all_documents, recreate_index)

    async def delete_by_filter_async(self, filters: dict[str, Any]) -> int:
        """See ``delete_by_filter``."""
        return await asyncio.to_thread(self._store.delete_by_filter, filters)

    async def update_by_filter_async(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """See ``update_by_filter``."""
        return await asyncio.to_thread(self._store.update_by_filter, filters, meta)

    async def count_documents_by_filter_async(self, filters: dict[str, Any]) -> int:
        """See ``count_documents_by_filter``."""
        return await asyncio.to_thread(self._store.count_documents_by_filter, filters)

    async def count_unique_metadata_by_filter_async(
        self, filters: dict[str, Any], metadata_fields: list[str]
    ) -> dict[str, int]:
        """See ``count_unique_metadata_by_filter``."""
        return await asyncio.to_thread(self._store.count_unique_metadata_by_filter, filters, metadata_fields)

    async def get_metadata_fields_info_async(self) -> dict[str, dict[str, str]]:
        """See ``get_metadata_fields_info``."""
        return await asyncio.to_thread(self._store.get_metadata_fields_info)

    async def get_metadata_field_min_max_async(self, metadata_field: str) -> dict[str, Any]:
        """See ``get_metadata_field_min_max``."""
        return await asyncio.to_thread(self._store.get_metadata_field_min_max, metadata_field)

    async def get_metadata_field_unique_values_async(
        self,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """See ``get_metadata_field_unique_values``."""
        return await asyncio.to_thread(
            self._store.get_metadata_field_unique_values, metadata_field, search_term, from_, size, filters
        )

    async def embedding_retrieval_async(
        self,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        return_embedding: bool = False,
    ) -> list[Document]:
        """See ``embedding_retrieval``."""
        return await asyncio.to_thread(
            self._store.embedding_retrieval,
            query_embedding,
            filters=filters,
            top_k=top_k,
            return_embedding=return_embedding,
        )

    async def bm25_retrieval_async(
        self,
        query: str,
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        return_embedding: bool = False,
    ) -> list[Document]:
        """See ``bm25_retrieval``."""
        return await asyncio.to_thread(
            self._store.bm25_retrieval, query, filters=filters, top_k=top_k, return_embedding=return_embedding
        )

    async def hybrid_retrieval_async(
        self,
        query: str,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        fusion: str = scoring.DEFAULT_FUSION,
        bm25_weight: float = scoring.DEFAULT_BM25_WEIGHT,
        rank_constant: int = scoring.DEFAULT_RANK_CONSTANT,
        return_embedding: bool = False,
    ) -> list[Document]:
        """See ``hybrid_retrieval``."""
        return await asyncio.to_thread(
            self._store.hybrid_retrieval, query, query_embedding, filters=filters, top_k=top_k, fusion=fusion,
            bm25_weight=bm25_weight, rank_constant=rank_constant, return_embedding=return_embedding,
        )  # fmt: skip
