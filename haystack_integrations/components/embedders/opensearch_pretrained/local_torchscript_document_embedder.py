"""
``LocalTorchScriptDocumentEmbedder``.

Embeds documents offline with a TORCH_SCRIPT artifact, with the vectors the cluster would give (the ``torch`` extra).
"""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component, default_from_dict

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference.backend import (
    LocalBackend,
    embed_documents,
    load_text_embedder,
    model_and_version,
    model_prefix,
)
from opensearch_pretrained_haystack.inference.text_embedding import TextEmbeddingRunner
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict
from opensearch_pretrained_haystack.text_preparation import prepare_documents


@component
class LocalTorchScriptDocumentEmbedder:
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
        self.model, self.version = model_and_version(model, version)
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.prefix = prefix
        self.suffix = suffix
        self.batch_size = batch_size
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self.progress_bar = progress_bar
        self.concurrent_runs = concurrent_runs
        self._backend: LocalBackend[TextEmbeddingRunner] = LocalBackend(
            lambda: load_text_embedder(self, model_format="TORCH_SCRIPT")
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalTorchScriptDocumentEmbedder:
        """Deserialize the component."""
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        """Load (or share) the model; calling it again does nothing."""
        self._backend.warm_up()

    def close(self) -> None:
        """Stop the worker threads and give back this component's share of the model; ``run`` warms up again."""
        self._backend.close()

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Embed documents.

        :param documents: The documents; they are not modified.
        :returns: ``documents`` (new objects with ``embedding`` set, in input order) and ``meta`` (model, version,
            counts of embedded documents and of documents without content).
        """
        runner = self._backend.warm_up()
        prefix = model_prefix(runner, self.prefix, "passage")
        prepared = prepare_documents(self, "LocalTorchScriptTextEmbedder", documents, prefix=prefix)
        return embed_documents(runner, prepared, batch_size=self.batch_size, progress_bar=self.progress_bar)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """Like ``run``, on a worker thread so the event loop stays free while the CPU computes."""
        return await asyncio.to_thread(self.run, documents)
