"""
What the SQLite store's three retrievers share.

The store, filters with Haystack's filter policy, top_k and serialization, so each retriever file holds only its own
search call.
"""

from __future__ import annotations

from typing import Any, Self

from haystack import default_from_dict, default_to_dict
from haystack.document_stores.types import FilterPolicy
from haystack.document_stores.types.filter_policy import apply_filter_policy

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore


class SQLiteRetrieverBase:
    def __init__(
        self,
        *,
        document_store: SQLiteDocumentStore,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
        return_embedding: bool = False,
    ) -> None:
        """
        Create the retriever.

        :param document_store: The store to search.
        :param filters: Haystack filters applied to every run.
        :param top_k: How many documents to return.
        :param filter_policy: How runtime filters combine with ``filters``.
        :param return_embedding: Whether the documents carry their vectors.
        :raises TypeError: ``document_store`` is not an ``SQLiteDocumentStore``.
        :raises ValueError: ``top_k`` is below 1.
        """
        if not isinstance(document_store, SQLiteDocumentStore):
            raise TypeError(f"{type(self).__name__} needs an SQLiteDocumentStore, got {type(document_store).__name__}.")
        if top_k <= 0:
            raise ValueError(f"top_k must be greater than 0, got {top_k}.")
        self.document_store = document_store
        self.filters = filters or {}
        self.top_k = top_k
        self.filter_policy = FilterPolicy.from_str(filter_policy) if isinstance(filter_policy, str) else filter_policy
        self.return_embedding = return_embedding

    def _init_parameters(self) -> dict[str, Any]:
        """Init parameters beyond the shared ones (overridden by retrievers that have more)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self, document_store=self.document_store.to_dict(), filters=self.filters, top_k=self.top_k,
            filter_policy=self.filter_policy.value, return_embedding=self.return_embedding, **self._init_parameters(),
        )  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        parameters = dict(data["init_parameters"])  # the caller's dict stays as it was
        parameters["document_store"] = SQLiteDocumentStore.from_dict(parameters["document_store"])
        return default_from_dict(cls, {**data, "init_parameters": parameters})

    def _run_parameters(self, filters: dict[str, Any] | None, top_k: int | None) -> dict[str, Any]:
        return {
            "filters": apply_filter_policy(self.filter_policy, self.filters, filters),
            "top_k": top_k or self.top_k,
            "return_embedding": self.return_embedding,
        }

    def close(self) -> None:
        """Release the store's connection (it reopens on the next run)."""
        self.document_store.close()
