"""What the local text and document embedders share: parameters, lifecycle and serialization."""

from __future__ import annotations

from typing import Any

from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder

from haystack_integrations.components.embedders.opensearch_pretrained._local_backend import shared_local_embedder
from haystack_integrations.components.embedders.opensearch_pretrained._serialization import (
    InitParametersSerialization,
)


class LocalOnnxComponent(InitParametersSerialization):
    """Holds the model parameters; loads the model lazily and idempotently, as Haystack's lifecycle expects."""

    def __init__(
        self,
        model: str,
        version: str | None,
        mirror: str | None,
        cache_dir: str | None,
        progress_bar: bool,
        providers: list[str] | None,
        threads: int | None,
    ) -> None:
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.progress_bar = progress_bar
        self.providers = providers
        self.threads = threads
        self._embedder: LocalOnnxEmbedder | None = None

    def warm_up(self) -> None:
        """Load (or reuse) the model; calling it again does nothing."""
        if self._embedder is None:
            self._embedder = shared_local_embedder(
                model=self.model,
                version=self.version,
                mirror=self.mirror,
                cache_dir=self.cache_dir,
                providers=self.providers,
                threads=self.threads,
                progress_bar=self.progress_bar,
            )

    def close(self) -> None:
        """Let go of the model; the next ``run`` warms up again."""
        self._embedder = None

    def _warm_embedder(self) -> LocalOnnxEmbedder:
        self.warm_up()
        assert self._embedder is not None
        return self._embedder

    def _meta(self) -> dict[str, Any]:
        embedder = self._warm_embedder()
        return {"model": embedder.name, "version": embedder.version}
