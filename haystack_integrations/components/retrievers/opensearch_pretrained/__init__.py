"""
Retrievers for indices embedded in the cluster and for the embedded SQLite store.

The cluster ones serve indices embedded by OpenSearch's pretrained models (neural, sparse and hybrid search); the store
ones search the embedded SQLite store (dense, BM25, sparse, hybrid). Each is imported on first use, so users of one
kind never load the other (the cluster retrievers load opensearch-py: ~0.3 s of every embedded `search`).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haystack_integrations.components.retrievers.opensearch_pretrained.neural_retriever import (
        OpenSearchNeuralRetriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.neural_sparse_retriever import (
        OpenSearchNeuralSparseRetriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_bm25_retriever import (
        SQLiteBM25Retriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_embedding_retriever import (
        SQLiteEmbeddingRetriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_hybrid_retriever import (
        SQLiteHybridRetriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_sparse_embedding_retriever import (
        SQLiteSparseEmbeddingRetriever,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_sparse_hybrid_retriever import (
        SQLiteSparseHybridRetriever,
    )

_LAZY = {
    "OpenSearchNeuralRetriever": "neural_retriever",
    "OpenSearchNeuralSparseRetriever": "neural_sparse_retriever",
    "SQLiteBM25Retriever": "sqlite_bm25_retriever",
    "SQLiteEmbeddingRetriever": "sqlite_embedding_retriever",
    "SQLiteHybridRetriever": "sqlite_hybrid_retriever",
    "SQLiteSparseEmbeddingRetriever": "sqlite_sparse_embedding_retriever",
    "SQLiteSparseHybridRetriever": "sqlite_sparse_hybrid_retriever",
}

__all__ = [
    "OpenSearchNeuralRetriever",
    "OpenSearchNeuralSparseRetriever",
    "SQLiteBM25Retriever",
    "SQLiteEmbeddingRetriever",
    "SQLiteHybridRetriever",
    "SQLiteSparseEmbeddingRetriever",
    "SQLiteSparseHybridRetriever",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
