"""What the local text and document embedders share: parameters, lifecycle and serialization."""

from __future__ import annotations

from typing import Any

from opensearch_pretrained_haystack.artifacts import resolve_artifact
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from opensearch_pretrained_haystack.serialization import (
    InitParametersSerialization,
)


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

    def _prefix(self, user_prefix: str | None, content_type: str) -> str:
        """The user's prefix if given (even ""), else the model's own ``<content_type>_prefix`` (asymmetric models),
        else none: the text ML Commons embeds for that content type."""
        if user_prefix is not None:
            return user_prefix
        artifact = self._warm_embedder().artifact
        return (artifact.query_prefix if content_type == "query" else artifact.passage_prefix) or ""

    def _meta(self) -> dict[str, Any]:
        embedder = self._warm_embedder()
        return {"model": embedder.name, "version": embedder.version}
