"""
Rerankers with OpenSearch's pretrained cross-encoders (locally or in the cluster).

Also turns retrieved passages back into source documents.

Classes are imported on first use, so a pipeline of local components never pays for the cluster client's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .local_onnx_ranker import LocalOnnxRanker
    from .opensearch_ml_ranker import OpenSearchMLRanker
    from .source_document_collapser import SourceDocumentCollapser

_MODULES = {
    "LocalOnnxRanker": "local_onnx_ranker",
    "OpenSearchMLRanker": "opensearch_ml_ranker",
    "SourceDocumentCollapser": "source_document_collapser",
}

__all__ = ["LocalOnnxRanker", "OpenSearchMLRanker", "SourceDocumentCollapser"]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
