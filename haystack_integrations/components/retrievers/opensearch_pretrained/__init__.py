"""Retrievers for indices embedded by OpenSearch's pretrained models in the cluster (neural, sparse, hybrid)."""

from haystack_integrations.components.retrievers.opensearch_pretrained.neural_retriever import (
    OpenSearchNeuralRetriever,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.neural_sparse_retriever import (
    OpenSearchNeuralSparseRetriever,
)

__all__ = ["OpenSearchNeuralRetriever", "OpenSearchNeuralSparseRetriever"]
