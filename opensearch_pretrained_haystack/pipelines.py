"""Kept so code written against ``opensearch_pretrained_haystack.pipelines`` keeps working: the ready-made pipelines
now live in ``opensearch_pretrained_haystack.app.pipelines``."""

from opensearch_pretrained_haystack.app.pipelines import (
    document_embedder,
    indexing_components,
    indexing_pipeline,
    query_inputs,
    query_pipeline,
    ranker,
    text_embedder,
)

__all__ = [
    "document_embedder",
    "indexing_components",
    "indexing_pipeline",
    "query_inputs",
    "query_pipeline",
    "ranker",
    "text_embedder",
]
