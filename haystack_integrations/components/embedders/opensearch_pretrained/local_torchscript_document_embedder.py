"""
``LocalTorchScriptDocumentEmbedder``.

Embeds documents offline with a TORCH_SCRIPT artifact, with the vectors the cluster would give (the ``torch`` extra).
"""

from __future__ import annotations

from haystack import component

from haystack_integrations.components.embedders.opensearch_pretrained._local_component import (
    DocumentEmbeddingRun,
    LocalTorchScriptComponent,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel


@component
class LocalTorchScriptDocumentEmbedder(DocumentEmbeddingRun, LocalTorchScriptComponent):
    """
    Embeds documents with an OpenSearch pretrained TORCH_SCRIPT artifact, as ML Commons would.

    Documents come back as new objects; a document without content comes back unchanged and is counted in
    ``meta["documents_without_content"]``.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.embedders.opensearch_pretrained import LocalTorchScriptDocumentEmbedder

    embedder = LocalTorchScriptDocumentEmbedder(model="distiluse-base-multilingual-cased-v1")
    result = embedder.run(documents=[Document(content="OpenSearch ist eine Suchmaschine.")])
    result["documents"][0].embedding  # 512 floats
    ```
    """

    text_sibling = "LocalTorchScriptTextEmbedder"

    def __init__(
        self,
        model: str | PretrainedModel = "distiluse-base-multilingual-cased-v1",
        version: str | None = None,
        *,
        mirror: str | None = None,
        cache_dir: str | None = None,
        prefix: str | None = None,
        suffix: str = "",
        batch_size: int = 32,
        progress_bar: bool = True,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        concurrent_runs: int | None = None,
    ) -> None:
        """
        Create the component; the model is loaded at ``warm_up``, not here.

        :param model: A catalog name or alias (or a ``PretrainedModel``) with a TORCH_SCRIPT artifact, or a
            directory holding a custom TorchScript model zip and its ``config.json``.
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept.
        :param prefix: Text put before each document's text. ``None`` (default) takes the model's own
            ``passage_prefix`` from its ``config.json`` (asymmetric models), or none; a string, even ``""``,
            overrides it.
        :param suffix: Text put after each document's text.
        :param batch_size: Texts per inference run; texts are sorted by length first, so runs pad little.
        :param progress_bar: Show download and embedding progress bars.
        :param meta_fields_to_embed: Meta fields whose values are embedded before the content.
        :param embedding_separator: Joins the meta values and the content.
        :param concurrent_runs: How many single-threaded inference runs go at once (default: the usable CPUs).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        LocalTorchScriptComponent.__init__(self, model, version, mirror, cache_dir, progress_bar, concurrent_runs)
        self.prefix = prefix
        self.suffix = suffix
        self.batch_size = batch_size
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
