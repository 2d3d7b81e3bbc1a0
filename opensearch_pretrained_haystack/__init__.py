"""
OpenSearch's pretrained models in Haystack pipelines: locally with ONNX, or in the cluster with ML Commons.

Layout, in the order data flows: ``catalog`` (what models exist) → ``artifacts`` (verified zips in a cache)
→ ``inference`` (the cluster's ONNX inference, computed locally) → ``cluster`` (ML Commons over opensearch-py)
→ ``indices`` (index and pipeline builders) → Haystack components and the SQLite store (in
``haystack_integrations.*.opensearch_pretrained``) → ``app`` (ready-made pipelines, batch jobs, the CLI).
Errors form one tree, drawn in ``errors``.

Every public name is here: the Haystack components and store, the engine's entry points and the error base.
Names are imported on first use, so ``import opensearch_pretrained_haystack`` stays cheap; the ``TYPE_CHECKING``
block mirrors the lazy table for type checkers and IDEs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError

if TYPE_CHECKING:
    from haystack_integrations.components.embedders.opensearch_pretrained import (
        LocalOnnxDocumentEmbedder,
        LocalOnnxTextEmbedder,
        LocalSparseDocumentEmbedder,
        LocalSparseTextEmbedder,
        LocalTorchScriptDocumentEmbedder,
        LocalTorchScriptTextEmbedder,
        OpenSearchMLDocumentEmbedder,
        OpenSearchMLSparseDocumentEmbedder,
        OpenSearchMLSparseTextEmbedder,
        OpenSearchMLTextEmbedder,
        PretrainedModelUploader,
    )
    from haystack_integrations.components.extractors.opensearch_pretrained import (
        LocalSemanticHighlighter,
        OpenSearchMLSemanticHighlighter,
    )
    from haystack_integrations.components.preprocessors.opensearch_pretrained import ModelTokenSplitter
    from haystack_integrations.components.rankers.opensearch_pretrained import (
        LocalOnnxRanker,
        OpenSearchMLRanker,
        SourceDocumentCollapser,
    )
    from haystack_integrations.components.retrievers.opensearch_pretrained import (
        OpenSearchNeuralRetriever,
        OpenSearchNeuralSparseRetriever,
        SQLiteBM25Retriever,
        SQLiteEmbeddingRetriever,
        SQLiteHybridRetriever,
        SQLiteSparseEmbeddingRetriever,
        SQLiteSparseHybridRetriever,
    )
    from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
    from opensearch_pretrained_haystack.artifacts import fetch_artifact, load_artifact
    from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
    from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
    from opensearch_pretrained_haystack.parity import verify_parity

_EMBEDDERS = "haystack_integrations.components.embedders.opensearch_pretrained"
_EXTRACTORS = "haystack_integrations.components.extractors.opensearch_pretrained"
_PREPROCESSORS = "haystack_integrations.components.preprocessors.opensearch_pretrained"
_RANKERS = "haystack_integrations.components.rankers.opensearch_pretrained"
_RETRIEVERS = "haystack_integrations.components.retrievers.opensearch_pretrained"
_LAZY = {
    # Haystack components and the document store
    "LocalOnnxDocumentEmbedder": _EMBEDDERS,
    "LocalOnnxTextEmbedder": _EMBEDDERS,
    "LocalSparseDocumentEmbedder": _EMBEDDERS,
    "LocalSparseTextEmbedder": _EMBEDDERS,
    "LocalTorchScriptDocumentEmbedder": _EMBEDDERS,
    "LocalTorchScriptTextEmbedder": _EMBEDDERS,
    "OpenSearchMLDocumentEmbedder": _EMBEDDERS,
    "OpenSearchMLSparseDocumentEmbedder": _EMBEDDERS,
    "OpenSearchMLSparseTextEmbedder": _EMBEDDERS,
    "OpenSearchMLTextEmbedder": _EMBEDDERS,
    "PretrainedModelUploader": _EMBEDDERS,
    "LocalSemanticHighlighter": _EXTRACTORS,
    "OpenSearchMLSemanticHighlighter": _EXTRACTORS,
    "ModelTokenSplitter": _PREPROCESSORS,
    "LocalOnnxRanker": _RANKERS,
    "OpenSearchMLRanker": _RANKERS,
    "SourceDocumentCollapser": _RANKERS,
    "OpenSearchNeuralRetriever": _RETRIEVERS,
    "OpenSearchNeuralSparseRetriever": _RETRIEVERS,
    "SQLiteBM25Retriever": _RETRIEVERS,
    "SQLiteEmbeddingRetriever": _RETRIEVERS,
    "SQLiteHybridRetriever": _RETRIEVERS,
    "SQLiteSparseEmbeddingRetriever": _RETRIEVERS,
    "SQLiteSparseHybridRetriever": _RETRIEVERS,
    "SQLiteDocumentStore": "haystack_integrations.document_stores.opensearch_pretrained",
    # the engine without Haystack's component wrapper
    "LocalOnnxEmbedder": "opensearch_pretrained_haystack.inference",
    "OpenSearchMLEmbedder": "opensearch_pretrained_haystack.cluster.remote_embedding",
    "fetch_artifact": "opensearch_pretrained_haystack.artifacts",
    "load_artifact": "opensearch_pretrained_haystack.artifacts",
    "verify_parity": "opensearch_pretrained_haystack.parity",
}

__all__ = [
    "LocalOnnxDocumentEmbedder",
    "LocalOnnxEmbedder",
    "LocalOnnxRanker",
    "LocalOnnxTextEmbedder",
    "LocalSemanticHighlighter",
    "LocalSparseDocumentEmbedder",
    "LocalSparseTextEmbedder",
    "LocalTorchScriptDocumentEmbedder",
    "LocalTorchScriptTextEmbedder",
    "ModelTokenSplitter",
    "OpenSearchMLDocumentEmbedder",
    "OpenSearchMLEmbedder",
    "OpenSearchMLRanker",
    "OpenSearchMLSemanticHighlighter",
    "OpenSearchMLSparseDocumentEmbedder",
    "OpenSearchMLSparseTextEmbedder",
    "OpenSearchMLTextEmbedder",
    "OpenSearchNeuralRetriever",
    "OpenSearchNeuralSparseRetriever",
    "OpenSearchPretrainedError",
    "PretrainedModelUploader",
    "SQLiteBM25Retriever",
    "SQLiteDocumentStore",
    "SQLiteEmbeddingRetriever",
    "SQLiteHybridRetriever",
    "SQLiteSparseEmbeddingRetriever",
    "SQLiteSparseHybridRetriever",
    "SourceDocumentCollapser",
    "catalog",
    "fetch_artifact",
    "load_artifact",
    "verify_parity",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
