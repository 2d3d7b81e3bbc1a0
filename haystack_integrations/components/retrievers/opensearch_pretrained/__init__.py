"""Retrievers for indices embedded by OpenSearch's pretrained models in the cluster (neural and hybrid search)."""

from haystack_integrations.components.retrievers.opensearch_pretrained.neural_retriever import (
    OpenSearchNeuralRetriever,
)

__all__ = ["OpenSearchNeuralRetriever"]
