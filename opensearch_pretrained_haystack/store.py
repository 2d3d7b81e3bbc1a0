"""Kept so code written against ``opensearch_pretrained_haystack.store`` keeps working: the k-NN index builder now
lives in ``opensearch_pretrained_haystack.indices.knn``."""

from opensearch_pretrained_haystack.compatibility import IndexMismatchError
from opensearch_pretrained_haystack.indices.knn import (
    VECTOR_FIELD,
    MissingIndexError,
    check_index,
    document_store_for,
    knn_index_body,
)

__all__ = [
    "VECTOR_FIELD",
    "IndexMismatchError",
    "MissingIndexError",
    "check_index",
    "document_store_for",
    "knn_index_body",
]
