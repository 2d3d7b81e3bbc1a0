"""What the OpenSearchML sparse text and document embedders share: parameters, lifecycle, serialization, vocabulary.

Lifecycle as for the dense pair (`_remote_component.py`): `__init__` only stores parameters; `warm_up` /
`warm_up_async` build the sync / async client (Secrets resolved there) and load the vocabulary that turns the
cluster's `{token: weight}` maps into `SparseEmbedding` indices; `close` / `close_async` release the clients.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from haystack_integrations.components.embedders.opensearch_pretrained._cluster_serialization import (
    HttpAuthSerialization,
)
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.cluster.sparse_operations import SparseTask
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseVocabulary, load_vocabulary

_lock = threading.Lock()
_vocabularies: dict[str, SparseVocabulary] = {}


def shared_vocabulary(**params: Any) -> SparseVocabulary:
    """One loaded vocabulary per process and source (see `load_vocabulary`)."""
    key = json.dumps({k: v for k, v in params.items() if k != "progress_bar"}, sort_keys=True, default=str)
    with _lock:
        if key not in _vocabularies:
            _vocabularies[key] = load_vocabulary(**params)
        return _vocabularies[key]


class OpenSearchMLSparseComponent(HttpAuthSerialization):
    """Holds connection, retry and vocabulary parameters and the `OpenSearchMLSparseEncoder` built from them."""

    def __init__(
        self,
        hosts: str | list[str],
        model_id: str,
        task_type: SparseTask,
        vocabulary: str,
        vocabulary_version: str | None,
        mirror: str | None,
        cache_dir: str | None,
        http_auth: HttpAuth,
        verify_certs: bool,
        ca_certs: str | None,
        timeout: float,
        batch_size: int,
        max_concurrency: int,
        max_retries: int,
        retry_deadline: float,
    ) -> None:
        self.hosts = hosts
        self.model_id = model_id
        self.task_type = task_type
        self.vocabulary = vocabulary
        self.vocabulary_version = vocabulary_version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.http_auth = tuple(http_auth) if isinstance(http_auth, list) else http_auth
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_deadline = retry_deadline
        self._encoder: OpenSearchMLSparseEncoder | None = None
        self._vocabulary: SparseVocabulary | None = None

    def _backend(self) -> OpenSearchMLSparseEncoder:
        if self._encoder is None:
            self._encoder = OpenSearchMLSparseEncoder(
                self.hosts,
                self.model_id,
                task_type=self.task_type,
                http_auth=self.http_auth,
                verify_certs=self.verify_certs,
                ca_certs=self.ca_certs,
                timeout=self.timeout,
                batch_size=self.batch_size,
                max_concurrency=self.max_concurrency,
                retry=RetryPolicy(max_attempts=self.max_retries + 1, deadline=self.retry_deadline),
            )
        return self._encoder

    def _vocab(self) -> SparseVocabulary:
        if self._vocabulary is None:
            self._vocabulary = shared_vocabulary(
                model=self.vocabulary, version=self.vocabulary_version, mirror=self.mirror, cache_dir=self.cache_dir
            )
        return self._vocabulary

    def warm_up(self) -> None:
        """Build the blocking client and load the vocabulary; calling it again does nothing."""
        self._backend().connect()
        self._vocab()

    async def warm_up_async(self) -> None:
        """Build the async client on the running event loop and load the vocabulary; idempotent."""
        self._backend().connect_async()
        self._vocab()

    def close(self) -> None:
        """Release the blocking client; the async one is untouched."""
        if self._encoder is not None:
            self._encoder.close()

    async def close_async(self) -> None:
        """Release the async client; the blocking one is untouched."""
        if self._encoder is not None:
            await self._encoder.close_async()

    def to_token_weights(self, embedding: Any) -> dict[str, float]:
        """A `SparseEmbedding` of this vocabulary as the `{token: weight}` map OpenSearch wants."""
        return self._vocab().to_token_weights(embedding)

    def _meta(self) -> dict[str, Any]:
        return {"model": self.model_id}
