"""
What the OpenSearchML sparse text and document embedders add to `RemoteModelComponent`: the vocabulary.

`warm_up` / `warm_up_async` also load the vocabulary that turns the cluster's `{token: weight}` maps into
`SparseEmbedding` indices; everything else (parameters, clients, serialization, `meta`) is the dense pair's.
"""

from __future__ import annotations

from typing import Any

from haystack_integrations.components.embedders.opensearch_pretrained._remote_component import RemoteModelComponent
from opensearch_pretrained_haystack.artifacts import Lease
from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.cluster.sparse_operations import SparseTask
from opensearch_pretrained_haystack.inference.sparse_tokenizer import (
    SparseVocabulary,
    resolve_sparse_artifact,
    shared_vocabulary,
)


class OpenSearchMLSparseComponent(RemoteModelComponent[OpenSearchMLSparseEncoder]):
    """A component of a sparse model: the remote parameters plus the task type and the vocabulary."""

    def __init__(
        self,
        *,
        task_type: SparseTask,
        vocabulary: str,
        vocabulary_version: str | None,
        mirror: str | None,
        cache_dir: str | None,
        **remote: Any,
    ) -> None:
        """`remote`: the keyword arguments of `RemoteModelComponent` (connection, batching, retries)."""
        RemoteModelComponent.__init__(self, **remote)
        self.task_type = task_type
        self.vocabulary = vocabulary
        self.vocabulary_version = vocabulary_version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self._vocabulary: SparseVocabulary | None = None
        self._vocabulary_lease: Lease[SparseVocabulary] | None = None

    def _new_backend(self, settings: dict[str, Any]) -> OpenSearchMLSparseEncoder:
        return OpenSearchMLSparseEncoder(task_type=self.task_type, **settings)

    def _vocab(self) -> SparseVocabulary:
        if self._vocabulary is None:
            self._vocabulary_lease = shared_vocabulary(
                resolve_sparse_artifact(
                    self.vocabulary, self.vocabulary_version, mirror=self.mirror, cache_dir=self.cache_dir
                )
            )
            self._vocabulary = self._vocabulary_lease.value
        return self._vocabulary

    def close(self) -> None:
        """Close the clients and give back this component's share of the vocabulary; ``run`` warms up again."""
        RemoteModelComponent.close(self)
        if self._vocabulary_lease is not None:
            self._vocabulary_lease.release()
        self._vocabulary = self._vocabulary_lease = None

    def warm_up(self) -> None:
        """Build the blocking client and load the vocabulary; calling it again does nothing."""
        RemoteModelComponent.warm_up(self)
        self._vocab()

    async def warm_up_async(self) -> None:
        """Build the async client on the running event loop and load the vocabulary; idempotent."""
        await RemoteModelComponent.warm_up_async(self)
        self._vocab()

    def to_token_weights(self, embedding: Any) -> dict[str, float]:
        """A `SparseEmbedding` of this vocabulary as the `{token: weight}` map OpenSearch wants."""
        return self._vocab().to_token_weights(embedding)
