"""What the local text and document embedders share: parameters, lifecycle and serialization."""

from __future__ import annotations

from typing import Any

from haystack_integrations.components.embedders.opensearch_pretrained._serialization import (
    InitParametersSerialization,
)
from opensearch_pretrained_haystack.artifacts import resolve_artifact
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder


class LocalOnnxComponent(InitParametersSerialization):
    """Holds the model parameters; loads the model lazily and idempotently, as Haystack's lifecycle expects.

    The tokenizer and ONNX session are shared through the process's cache of loaded artifacts, so a text and a
    document embedder (and a splitter) of one model load it once; each component has its own worker threads.
    """

    def __init__(
        self,
        model: str | PretrainedModel,
        version: str | None,
        mirror: str | None,
        cache_dir: str | None,
        progress_bar: bool,
        providers: list[str] | None,
        concurrent_runs: int | None,
    ) -> None:
        if isinstance(model, PretrainedModel):  # kept as name and version, which serialize
            version = version or model.version
            model = model.name
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.progress_bar = progress_bar
        self.providers = providers
        self.concurrent_runs = concurrent_runs
        self._embedder: LocalOnnxEmbedder | None = None

    def warm_up(self) -> None:
        """Load (or share) the model; calling it again does nothing."""
        if self._embedder is None:
            artifact = resolve_artifact(
                self.model, self.version, mirror=self.mirror, cache_dir=self.cache_dir, progress_bar=self.progress_bar
            )
            self._embedder = LocalOnnxEmbedder(artifact, providers=self.providers, concurrent_runs=self.concurrent_runs)

    def close(self) -> None:
        """Stop the worker threads and give back this component's share of the model; ``run`` warms up again."""
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None

    def _warm_embedder(self) -> LocalOnnxEmbedder:
        self.warm_up()
        assert self._embedder is not None
        return self._embedder

    def _meta(self) -> dict[str, Any]:
        embedder = self._warm_embedder()
        return {"model": embedder.name, "version": embedder.version}
