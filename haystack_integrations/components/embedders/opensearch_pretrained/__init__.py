"""
Haystack components for OpenSearch's pretrained text-embedding models.

They live in the ``haystack_integrations`` namespace so that pipelines holding them load from YAML with
Haystack's default deserialization allowlist, as Haystack's own integration packages do. Classes are imported
on first use, so a pipeline of local embedders never pays for the cluster client's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .local_onnx_document_embedder import LocalOnnxDocumentEmbedder
    from .local_onnx_text_embedder import LocalOnnxTextEmbedder
    from .local_sparse_document_embedder import LocalSparseDocumentEmbedder
    from .local_sparse_text_embedder import LocalSparseTextEmbedder
    from .local_torchscript_document_embedder import LocalTorchScriptDocumentEmbedder
    from .local_torchscript_text_embedder import LocalTorchScriptTextEmbedder
    from .model_uploader import PretrainedModelUploader
    from .opensearch_ml_document_embedder import OpenSearchMLDocumentEmbedder
    from .opensearch_ml_sparse_document_embedder import OpenSearchMLSparseDocumentEmbedder
    from .opensearch_ml_sparse_text_embedder import OpenSearchMLSparseTextEmbedder
    from .opensearch_ml_text_embedder import OpenSearchMLTextEmbedder

_MODULES = {
    "LocalOnnxDocumentEmbedder": "local_onnx_document_embedder",
    "LocalOnnxTextEmbedder": "local_onnx_text_embedder",
    "LocalSparseDocumentEmbedder": "local_sparse_document_embedder",
    "LocalSparseTextEmbedder": "local_sparse_text_embedder",
    "LocalTorchScriptDocumentEmbedder": "local_torchscript_document_embedder",
    "LocalTorchScriptTextEmbedder": "local_torchscript_text_embedder",
    "OpenSearchMLDocumentEmbedder": "opensearch_ml_document_embedder",
    "OpenSearchMLSparseDocumentEmbedder": "opensearch_ml_sparse_document_embedder",
    "OpenSearchMLSparseTextEmbedder": "opensearch_ml_sparse_text_embedder",
    "OpenSearchMLTextEmbedder": "opensearch_ml_text_embedder",
    "PretrainedModelUploader": "model_uploader",
}

__all__ = [
    "LocalOnnxDocumentEmbedder",
    "LocalOnnxTextEmbedder",
    "LocalSparseDocumentEmbedder",
    "LocalSparseTextEmbedder",
    "LocalTorchScriptDocumentEmbedder",
    "LocalTorchScriptTextEmbedder",
    "OpenSearchMLDocumentEmbedder",
    "OpenSearchMLSparseDocumentEmbedder",
    "OpenSearchMLSparseTextEmbedder",
    "OpenSearchMLTextEmbedder",
    "PretrainedModelUploader",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
