"""One loaded ONNX model per process and configuration, shared by every component that asks for it.

Pipelines often hold a text and a document embedder of the same model; loading it once halves memory and
warm-up time (the pattern of sentence-transformers-haystack's and fastembed-haystack's backend factories).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder

_lock = threading.Lock()
_instances: dict[str, LocalOnnxEmbedder] = {}


def shared_local_embedder(*, progress_bar: bool, **params: Any) -> LocalOnnxEmbedder:
    """The process-wide ``LocalOnnxEmbedder`` for these parameters (see its ``__init__``), loaded on first use.

    ``progress_bar`` only decides whether a first download shows a bar, so it is not part of the key: a text and
    a document embedder that differ only there share one model.
    """
    key = json.dumps(params, sort_keys=True, default=str)
    with _lock:
        if key not in _instances:
            model = params.pop("model")
            _instances[key] = LocalOnnxEmbedder(model, progress_bar=progress_bar, **params)
        return _instances[key]
