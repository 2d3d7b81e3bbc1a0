"""``LocalOnnxTextEmbedder``: embeds a query on this machine with the same vectors the cluster would give."""

from __future__ import annotations

from haystack import component

from haystack_integrations.components.embedders.opensearch_pretrained._local_component import (
    LocalOnnxComponent,
    TextEmbeddingRun,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel


@component
class LocalOnnxTextEmbedder(TextEmbeddingRun, LocalOnnxComponent):
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

    document_sibling = "LocalOnnxDocumentEmbedder"

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
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        LocalOnnxComponent.__init__(self, model, version, mirror, cache_dir, progress_bar, providers, concurrent_runs)
        self.prefix = prefix
        self.suffix = suffix
