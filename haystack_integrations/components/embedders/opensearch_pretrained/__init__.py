"""Haystack components for OpenSearch's pretrained text-embedding models.

They live in the ``haystack_integrations`` namespace so that pipelines holding them load from YAML with
Haystack's default deserialization allowlist, as Haystack's own integration packages do.
"""

from haystack_integrations.components.embedders.opensearch_pretrained.local_onnx_document_embedder import (
    LocalOnnxDocumentEmbedder,
)
from haystack_integrations.components.embedders.opensearch_pretrained.local_onnx_text_embedder import (
    LocalOnnxTextEmbedder,
)
from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_document_embedder import (
    OpenSearchMLDocumentEmbedder,
)
from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_text_embedder import (
    OpenSearchMLTextEmbedder,
)

__all__ = [
    "LocalOnnxDocumentEmbedder",
    "LocalOnnxTextEmbedder",
    "OpenSearchMLDocumentEmbedder",
    "OpenSearchMLTextEmbedder",
    "PretrainedModelUploader",
]
