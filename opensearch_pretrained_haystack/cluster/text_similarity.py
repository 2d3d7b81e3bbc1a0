"""
The TEXT_SIMILARITY (cross-encoder) predict call, as an I/O-free operation (see `protocol.py`).

ML Commons scores each entry of `text_docs` against `query_text` in its own inference and returns the raw logit
(no sigmoid) as a one-value `similarity` tensor in `inference_results[i].output[0].data[0]`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.protocol import Call, Operation
from opensearch_pretrained_haystack.cluster.versions import ML


def predict_body(query: str, texts: list[str]) -> dict[str, Any]:
    """The predict body of a TEXT_SIMILARITY model: one query, the documents to score against it."""
    return {"query_text": query, "text_docs": texts}


def parse_similarities(response: dict[str, Any], expected: int) -> np.ndarray:
    """float32 `(n,)` raw logits, one per document, in order."""
    results = response.get("inference_results", [])
    if len(results) != expected:
        msg = f"ML Commons returned {len(results)} similarity scores for {expected} documents."
        raise MLCommonsError(msg)
    try:
        return np.asarray([result["output"][0]["data"][0] for result in results], dtype=np.float32)
    except (KeyError, IndexError, TypeError) as error:
        msg = (
            "ML Commons answered without a similarity score (inference_results[i].output[0].data[0]); "
            "is the model a TEXT_SIMILARITY (cross-encoder) model?"
        )
        raise MLCommonsError(msg) from error


def predict_similarity(
    model_id: str, query: str, texts: list[str], timeout: float | None = None
) -> Operation[np.ndarray]:
    """Score `texts` against `query` in one predict call."""
    body = predict_body(query, texts)
    response = yield Call("POST", f"{ML}/_predict/text_similarity/{model_id}", body, timeout=timeout)
    return parse_similarities(response, len(texts))
