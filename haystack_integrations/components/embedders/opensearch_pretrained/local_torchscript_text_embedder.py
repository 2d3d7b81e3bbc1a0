"""
``LocalTorchScriptTextEmbedder``.

Embeds a query on this machine with a TORCH_SCRIPT artifact, as the cluster would (the ``torch`` extra).
"""

from __future__ import annotations

from haystack import component

from haystack_integrations.components.embedders.opensearch_pretrained._local_component import (
    LocalTorchScriptComponent,
    TextEmbeddingRun,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel


@component
class LocalTorchScriptTextEmbedder(TextEmbeddingRun, LocalTorchScriptComponent):
    """
    Embeds one string with an OpenSearch pretrained TORCH_SCRIPT artifact, as ML Commons would.

    For models such as ``distiluse-base-multilingual-cased-v1``, published only as TorchScript.

    Usage example:
    ```python
    from haystack_integrations.components.embedders.opensearch_pretrained import LocalTorchScriptTextEmbedder

    embedder = LocalTorchScriptTextEmbedder(model="distiluse-base-multilingual-cased-v1")
    result = embedder.run(text="Was ist OpenSearch?")
    result["embedding"]  # 512 floats
    ```
    """

    document_sibling = "LocalTorchScriptDocumentEmbedder"

    def __init__(
        self,
        model: str | PretrainedModel = "distiluse-base-multilingual-cased-v1",
        version: str | None = None,
        *,
        mirror: str | None = None,
        cache_dir: str | None = None,
        prefix: str | None = None,
        suffix: str = "",
        progress_bar: bool = True,
        concurrent_runs: int | None = None,
    ) -> None:
        """
        Create the component; the model is loaded at ``warm_up``, not here.

        :param model: A catalog name or alias (or a ``PretrainedModel``) with a TORCH_SCRIPT artifact, or a
            directory holding a custom TorchScript model zip and its ``config.json``.
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept.
        :param prefix: Text put before the input. ``None`` (default) takes the model's own ``query_prefix`` from its
            ``config.json`` (asymmetric models), or none; a string, even ``""``, overrides it.
        :param suffix: Text put after the input.
        :param progress_bar: Show the download progress bar.
        :param concurrent_runs: How many single-threaded inference runs go at once (default: the usable CPUs).
        """
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        LocalTorchScriptComponent.__init__(self, model, version, mirror, cache_dir, progress_bar, concurrent_runs)
        self.prefix = prefix
        self.suffix = suffix
