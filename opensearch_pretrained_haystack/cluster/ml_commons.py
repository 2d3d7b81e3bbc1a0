"""
The blocking ML Commons client over opensearch-py.

It is thin: each method runs one operation from `operations.py` through the sync driver of
`protocol.py` (async callers run the same operations with `protocol.run_async`), so the logic (routes per server
version, polling, error mapping) exists once. The server version is read on first use and cached.

Usage:
    client = MLCommonsClient(OpenSearch("http://localhost:9200"))
    model_id = client.upload_model(zip_path, config)
    client.deploy(model_id)
    vectors = client.predict(model_id, ["hello world"])
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.cluster import operations as ops
from opensearch_pretrained_haystack.cluster.protocol import Operation, T, run_sync
from opensearch_pretrained_haystack.cluster.versions import ServerProfile

DEFAULT_TASK_TIMEOUT = 600.0
"""ML Commons' own task timeout (`ml_task_timeout_in_seconds`)."""


class _ProfileCache:
    """Remembers the server profile so each operation can chain it without another `GET /`."""

    def __init__(self) -> None:
        self.profile: ServerProfile | None = None

    def read(self) -> Operation[ServerProfile]:
        """The cached profile, read from the server the first time."""
        if self.profile is None:
            self.profile = yield from ops.server_profile()
        return self.profile

    def with_profile(self, make: Callable[[ServerProfile], Operation[T]]) -> Operation[T]:
        """Run `make(profile)` after reading (once) the server profile."""
        profile = yield from self.read()
        return (yield from make(profile))


class MLCommonsClient:
    """Blocking ML Commons client; `client` is an `opensearchpy.OpenSearch` (2.x or 3.x)."""

    def __init__(self, client: OpenSearch) -> None:
        self.client = client
        self._cache = _ProfileCache()

    def run(self, operation: Operation[T]) -> T:
        """Execute any operation of `operations.py` (e.g. one wrapped in `with_retries`)."""
        return run_sync(self.client.transport, operation)

    def server_profile(self) -> ServerProfile:
        """The cluster's version and the routes it needs."""
        return self.run(self._cache.read())

    def register_pretrained(
        self,
        name: str,
        version: str,
        model_format: str,
        timeout: float = DEFAULT_TASK_TIMEOUT,
        deploy_setting: dict[str, Any] | None = None,
    ) -> str:
        """The cluster downloads the model by name; returns the model id."""
        return self.run(
            self._cache.with_profile(
                lambda p: ops.register_pretrained(p, name, version, model_format, timeout, deploy_setting)
            )
        )

    def upload_model(self, zip_path: Path, config: dict[str, Any]) -> str:
        """Upload a local zip in chunks; returns the model id (state REGISTERED)."""
        return self.run(self._cache.with_profile(lambda p: ops.upload_model(p, zip_path, config)))

    def deploy(self, model_id: str, timeout: float = DEFAULT_TASK_TIMEOUT) -> dict[str, Any]:
        """Deploy and wait until DEPLOYED; returns the model document."""
        return self.run(self._cache.with_profile(lambda p: ops.deploy(p, model_id, timeout)))

    def undeploy(self, model_id: str) -> dict[str, Any]:
        """Undeploy from every node."""
        return self.run(self._cache.with_profile(lambda p: ops.undeploy(p, model_id)))

    def delete_model(self, model_id: str) -> dict[str, Any]:
        """Delete an undeployed model."""
        return self.run(ops.delete_model(model_id))

    def get_model(self, model_id: str) -> dict[str, Any]:
        """The model document (with `model_id`)."""
        return self.run(ops.get_model(model_id))

    def wait_for_task(self, task_id: str, timeout: float = DEFAULT_TASK_TIMEOUT) -> dict[str, Any]:
        """Poll a task until it completes; raises `TaskFailedError` with the server's message."""
        return self.run(ops.wait_for_task(task_id, timeout))

    def search_models(self, query: dict[str, Any], size: int = 100) -> list[dict[str, Any]]:
        """Model documents matching an OpenSearch query."""
        return self.run(ops.search_models(query, size))

    def find_models(self, name: str, model_format: str) -> list[dict[str, Any]]:
        """Registered models of this name and format."""
        return self.run(ops.find_models(name, model_format))

    def predict(self, model_id: str, texts: list[str], timeout: float | None = None) -> np.ndarray:
        """Embed texts in one call; float32 (len(texts), dim)."""
        return self.run(ops.predict(model_id, texts, timeout))
