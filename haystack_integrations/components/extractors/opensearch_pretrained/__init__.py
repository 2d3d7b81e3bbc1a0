"""
OpenSearch's semantic sentence highlighter.

The sentences of each document that answer a query, from the model deployed in the cluster
(``OpenSearchMLSemanticHighlighter``) or run locally (``LocalSemanticHighlighter``).

Classes are imported on first use, so a pipeline of cluster components never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .local_semantic_highlighter import LocalSemanticHighlighter
    from .opensearch_ml_semantic_highlighter import OpenSearchMLSemanticHighlighter

_MODULES = {
    "LocalSemanticHighlighter": "local_semantic_highlighter",
    "OpenSearchMLSemanticHighlighter": "opensearch_ml_semantic_highlighter",
}

__all__ = ["LocalSemanticHighlighter", "OpenSearchMLSemanticHighlighter"]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
