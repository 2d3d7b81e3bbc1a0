"""What the OpenSearchML text and document embedders share: parameters, lifecycle and serialization.

Lifecycle as in Haystack 3 remote embedders: `__init__` only stores parameters; `warm_up` /
`warm_up_async` build the sync / async opensearch-py client (resolving Secrets there, never in
`__init__`); `close` / `close_async` release them independently; `run` warms up lazily.

`meta["model"]` is the model's name as the cluster reports it (read once, at the first run), as the local
embedders report their catalog name; `meta["model_id"]` is the cluster's id of the deployed model.
"""

from __future__ import annotations

from typing import Any

from haystack_integrations.components.embedders.opensearch_pretrained._cluster_serialization import (
    HttpAuthSerialization,
)
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy


class OpenSearchMLComponent(HttpAuthSerialization):
    """Holds connection and retry parameters and the `OpenSearchMLEmbedder` built from them."""

    def __init__(
        self,
        *,
        hosts: str | list[str],
        model_id: str,
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
        self.http_auth = tuple(http_auth) if isinstance(http_auth, list) else http_auth
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_deadline = retry_deadline
        self._embedder: OpenSearchMLEmbedder | None = None

    def _backend(self) -> OpenSearchMLEmbedder:
        if self._embedder is None:
            self._embedder = OpenSearchMLEmbedder(
                self.hosts,
                self.model_id,
                http_auth=self.http_auth,
                verify_certs=self.verify_certs,
                ca_certs=self.ca_certs,
                timeout=self.timeout,
                batch_size=self.batch_size,
                max_concurrency=self.max_concurrency,
                retry=RetryPolicy(max_attempts=self.max_retries + 1, deadline=self.retry_deadline),
            )
        return self._embedder

    def warm_up(self) -> None:
        """Build the blocking client (resolving credentials); calling it again does nothing."""
        self._backend().connect()

    async def warm_up_async(self) -> None:
        """Build the async client on the running event loop; calling it again does nothing."""
        self._backend().connect_async()

    def close(self) -> None:
        """Release the blocking client; the async one is untouched."""
        if self._embedder is not None:
            self._embedder.close()

    async def close_async(self) -> None:
        """Release the async client; the blocking one is untouched."""
        if self._embedder is not None:
            await self._embedder.close_async()

    def _meta(self) -> dict[str, Any]:
        return {"model": self._backend().model_name, "model_id": self.model_id}
