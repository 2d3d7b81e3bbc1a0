"""
`OpenSearchMLSparseEncoder`: `{token: weight}` maps computed by a neural sparse model deployed in ML Commons.

Batching, concurrency, retries and per-batch failures are `remote.BatchedPredictor`'s, as for dense embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opensearch_pretrained_haystack.cluster.protocol import Operation
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchedPredictor, BatchOutcome
from opensearch_pretrained_haystack.cluster.sparse_operations import SPARSE_TASKS, SparseTask, predict_sparse

SparseMaps = list[dict[str, float]]


class OpenSearchMLSparseEncoder(BatchedPredictor[SparseMaps]):
    """
    Encodes texts with a SPARSE_ENCODING or SPARSE_TOKENIZE model, by its `model_id`.

    Usage example:
    ```python
    encoder = OpenSearchMLSparseEncoder("http://localhost:9200", model_id, task_type="SPARSE_ENCODING")
    encoder.encode(["OpenSearch is a search engine."])  # [{"opensearch": 1.3, "search": 0.9, ...}]
    ```
    """

    def __init__(
        self, hosts: str | list[str], model_id: str, *, task_type: SparseTask = "SPARSE_ENCODING", **settings: Any
    ) -> None:
        """`settings`: the keyword arguments of `BatchedPredictor` (auth, TLS, timeout, batching, retry)."""
        if task_type not in SPARSE_TASKS:
            msg = f"task_type must be one of {', '.join(SPARSE_TASKS)}, not {task_type!r}."
            raise ValueError(msg)
        BatchedPredictor.__init__(self, hosts, model_id, **settings)
        self.task_type: SparseTask = task_type

    def encode(self, texts: Sequence[str]) -> SparseMaps:
        """One map per text; raises the first batch's error if any batch failed."""
        return _joined(self.embed_batches(texts))

    async def encode_async(self, texts: Sequence[str]) -> SparseMaps:
        """Async twin of `encode`."""
        return _joined(await self.embed_batches_async(texts))

    def _predict_call(self, batch: list[str], timeout: float) -> Operation[SparseMaps]:
        return predict_sparse(self.model_id, batch, self.task_type, timeout=timeout)


def _joined(outcomes: list[BatchOutcome[SparseMaps]]) -> SparseMaps:
    maps: SparseMaps = []
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
        maps.extend(outcome.vectors or [])
    return maps
