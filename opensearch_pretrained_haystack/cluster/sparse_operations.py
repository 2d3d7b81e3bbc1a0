"""
Neural sparse predict calls (SPARSE_ENCODING, SPARSE_TOKENIZE), as I/O-free operations (see `protocol.py`).

The node answers one result per text, `inference_results[i].output[0].dataAsMap.response[0]` = `{token: weight}`
(`../shared/docs/model-families.md` §3); a blank or specials-only text gives `{}`.
"""

from __future__ import annotations

from typing import Any, Literal

from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.protocol import Call, Operation
from opensearch_pretrained_haystack.cluster.versions import ML

SparseTask = Literal["SPARSE_ENCODING", "SPARSE_TOKENIZE"]
SPARSE_TASKS: tuple[str, ...] = ("SPARSE_ENCODING", "SPARSE_TOKENIZE")


def parse_sparse(response: dict[str, Any], expected: int) -> list[dict[str, float]]:
    """One `{token: weight}` map per text, in order."""
    results = response.get("inference_results", [])
    if len(results) != expected:
        msg = f"ML Commons returned {len(results)} sparse maps for {expected} texts."
        raise MLCommonsError(msg)
    try:
        return [
            {str(token): float(weight) for token, weight in result["output"][0]["dataAsMap"]["response"][0].items()}
            for result in results
        ]
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        msg = f"ML Commons' answer is not a sparse model's ({error!r}): is the model id a SPARSE_* model?"
        raise MLCommonsError(msg) from error


def predict_sparse(
    model_id: str, texts: list[str], task_type: SparseTask, timeout: float | None = None
) -> Operation[list[dict[str, float]]]:
    """Encode `texts` in one predict call."""
    path = f"{ML}/_predict/{task_type.lower()}/{model_id}"
    response = yield Call("POST", path, {"text_docs": texts}, timeout=timeout)
    return parse_sparse(response, len(texts))
