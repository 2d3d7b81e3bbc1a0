"""Kept so code written against ``opensearch_pretrained_haystack.neural`` keeps working: neural search now lives in
``opensearch_pretrained_haystack.indices.neural``."""

from opensearch_pretrained_haystack.indices.neural import (
    create_hybrid_search_pipeline,
    create_ingest_pipeline,
    neural_document_store,
    require_deployed,
)

__all__ = ["create_hybrid_search_pipeline", "create_ingest_pipeline", "neural_document_store", "require_deployed"]
