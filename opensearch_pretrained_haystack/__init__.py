"""OpenSearch's pretrained text-embedding models in Haystack pipelines.

Layout, in the order data flows: ``catalog`` (what models exist) → ``artifacts`` (verified zips in a cache)
→ ``inference`` (the cluster's ONNX embedding, computed locally) → ``cluster`` (ML Commons over opensearch-py)
→ Haystack components (in ``haystack_integrations.components.*.opensearch_pretrained``) → ``cli``.

Names are imported lazily, so ``import opensearch_pretrained_haystack`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from opensearch_pretrained_haystack import catalog

_EMBEDDERS = "haystack_integrations.components.embedders.opensearch_pretrained"
_LAZY = {
    "LocalOnnxEmbedder": "opensearch_pretrained_haystack.inference",
    "fetch_artifact": "opensearch_pretrained_haystack.artifacts",
    "load_artifact": "opensearch_pretrained_haystack.artifacts",
    "OpenSearchMLEmbedder": "opensearch_pretrained_haystack.cluster.remote_embedding",
    "verify_parity": "opensearch_pretrained_haystack.parity",
    "LocalOnnxTextEmbedder": _EMBEDDERS,
    "LocalOnnxDocumentEmbedder": _EMBEDDERS,
    "OpenSearchMLTextEmbedder": _EMBEDDERS,
    "OpenSearchMLDocumentEmbedder": _EMBEDDERS,
    "PretrainedModelUploader": _EMBEDDERS,
}

__all__ = ["catalog", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
