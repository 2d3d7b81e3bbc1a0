"""``LocalOnnxDocumentEmbedder``: embeds documents offline with the vectors the cluster would give."""

from __future__ import annotations

from haystack import component

from haystack_integrations.components.embedders.opensearch_pretrained._local_component import (
    DocumentEmbeddingRun,
    LocalOnnxComponent,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel


@component
class LocalOnnxDocumentEmbedder(DocumentEmbeddingRun, LocalOnnxComponent):
    """
    Embeds documents with an OpenSearch pretrained ONNX artifact, as ML Commons would.

    Documents come back as new objects; a document without content comes back unchanged and is counted in
    ``meta["documents_without_content"]``.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.embedders.opensearch_pretrained import LocalOnnxDocumentEmbedder

    embedder = LocalOnnxDocumentEmbedder(model="all-MiniLM-L6-v2", version="1.0.1")
    result = embedder.run(documents=[Document(content="OpenSearch is a search engine.")])
    result["documents"][0].embedding  # 384 floats
    ```
    """

    text_sibling = "LocalOnnxTextEmbedder"

    def __init__(
        self,
        model: str | PretrainedModel = "all-MiniLM-L6-v2",
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
        :param prefix: Text put before each document's text. ``None`` (default) takes the model's own
            ``passage_prefix`` from its ``config.json`` (asymmetric models; the cluster puts it there too for
            ``content_type`` "passage"), or none; a string, even ``""``, overrides it.
        :param suffix: Text put after each document's text.
        :param batch_size: Texts per inference call; texts are sorted by length first, so batches pad little.
        :param progress_bar: Show download and embedding progress bars.
        :param meta_fields_to_embed: Meta fields whose values are embedded before the content.
        :param embedding_separator: Joins the meta values and the content.
        :param providers: onnxruntime execution providers (default CPU).
        :param concurrent_runs: How many single-threaded inference runs go at once (default: the CPUs this process
            may use).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        LocalOnnxComponent.__init__(self, model, version, mirror, cache_dir, progress_bar, providers, concurrent_runs)
        self.prefix = prefix
        self.suffix = suffix
        self.batch_size = batch_size
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
