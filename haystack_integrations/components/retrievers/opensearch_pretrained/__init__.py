"""Retrievers: for indices embedded by OpenSearch's pretrained models in the cluster (neural, sparse and hybrid
search), and for the embedded SQLite store (dense, BM25, hybrid; imported on first use, so cluster users never load
them)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from haystack_integrations.components.retrievers.opensearch_pretrained.neural_retriever import (
    OpenSearchNeuralRetriever,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.neural_sparse_retriever import (
    OpenSearchNeuralSparseRetriever,
)

if TYPE_CHECKING:
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_bm25_retriever import (
        SQLiteBM25Retriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_embedding_retriever import (
        SQLiteEmbeddingRetriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_hybrid_retriever import (
        SQLiteHybridRetriever,
    )

_LAZY = {
    "SQLiteBM25Retriever": "sqlite_bm25_retriever",
    "SQLiteEmbeddingRetriever": "sqlite_embedding_retriever",
    "SQLiteHybridRetriever": "sqlite_hybrid_retriever",
}

__all__ = [
    "OpenSearchNeuralRetriever",
    "OpenSearchNeuralSparseRetriever",
    "SQLiteBM25Retriever",
    "SQLiteEmbeddingRetriever",
    "SQLiteHybridRetriever",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
