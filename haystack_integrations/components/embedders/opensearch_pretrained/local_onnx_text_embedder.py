"""``LocalOnnxTextEmbedder``: embeds a query on this machine with the same vectors the cluster would give."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import component, default_from_dict

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference.backend import (
    LocalBackend,
    embed_text,
    load_text_embedder,
    model_and_version,
)
from opensearch_pretrained_haystack.inference.text_embedding import TextEmbeddingRunner
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict
from opensearch_pretrained_haystack.text_preparation import check_text


@component
class LocalOnnxTextEmbedder:
    """
    Embeds one string with an OpenSearch pretrained ONNX artifact, as ML Commons would.

    Usage example:
    ```python
    from haystack_integrations.components.embedders.opensearch_pretrained import LocalOnnxTextEmbedder

    embedder = LocalOnnxTextEmbedder(model="all-MiniLM-L6-v2", version="1.0.1")
    result = embedder.run(text="What is OpenSearch?")
    result["embedding"]  # 384 floats
    ```
    """

    def __init__(
        self,
        model: str | PretrainedModel = "all-MiniLM-L6-v2",
        version: str | None = None,
        *,
        mirror: str | None = None,
        cache_dir: str | None = None,
        prefix: str | None = None,
        suffix: str = "",
        progress_bar: bool = True,
        providers: list[str] | None = None,
        concurrent_runs: int | None = None,
    ) -> None:
        """
        Create the component; the model is loaded at ``warm_up``, not here.

        :param model: A catalog name or alias (or a ``PretrainedModel``), or a directory holding a custom model zip
            and its ``config.json``.
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept (default: ``$OPENSEARCH_PRETRAINED_CACHE`` or the user
            cache).
        :param prefix: Text put before the input. ``None`` (default) takes the model's own ``query_prefix`` from its
            ``config.json`` (asymmetric models such as E5; the cluster puts it there too for ``content_type``
            "query"), or none; a string, even ``""``, overrides it.
        :param suffix: Text put after the input.
        :param progress_bar: Show the download progress bar.
        :param providers: onnxruntime execution providers (default CPU).
        :param concurrent_runs: How many single-threaded inference runs go at once (default: the CPUs this process
            may use).
        """
        self.model, self.version = model_and_version(model, version)
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.prefix = prefix
        self.suffix = suffix
        self.progress_bar = progress_bar
        self.providers = providers
        self.concurrent_runs = concurrent_runs
        self._backend: LocalBackend[TextEmbeddingRunner] = LocalBackend(
            lambda: load_text_embedder(self, model_format="ONNX", providers=self.providers)
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalOnnxTextEmbedder:
        """Deserialize the component."""
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        """Load (or share) the model; calling it again does nothing."""
        self._backend.warm_up()

    def close(self) -> None:
        """Stop the worker threads and give back this component's share of the model; ``run`` warms up again."""
        self._backend.close()

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """
        Embed one text.

        :param text: The text; an empty or whitespace-only text still gets the model's embedding, as in the cluster.
        :returns: ``embedding`` (a list of floats) and ``meta`` (model name and version).
        """
        check_text(type(self).__name__, "LocalOnnxDocumentEmbedder", text)
        return embed_text(self._backend.warm_up(), text, prefix=self.prefix, suffix=self.suffix)

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """Like ``run``, on a worker thread so the event loop stays free while the CPU computes."""
        return await asyncio.to_thread(self.run, text)
