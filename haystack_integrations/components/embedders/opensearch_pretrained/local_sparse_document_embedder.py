"""
``LocalSparseDocumentEmbedder``.

Neural sparse embeddings of documents, computed on this machine with the maps the cluster's ``sparse_encoding`` ingest
processor would store.
"""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component
from tqdm import tqdm

from haystack_integrations.components.embedders.opensearch_pretrained._local_sparse_component import (
    LocalSparseComponent,
)
from opensearch_pretrained_haystack.text_preparation import prepare_documents


@component
class LocalSparseDocumentEmbedder(LocalSparseComponent):
    """
    Sets ``sparse_embedding`` on documents with a neural sparse encoder, exactly as ML Commons would.

    The encoder is SPARSE_ENCODING (TorchScript: the ``torch`` extra); a query tokenizer (SPARSE_TOKENIZE) works too,
    without torch.

    Documents come back as new objects, in order; a document without content comes back unchanged and is counted
    in ``meta["documents_without_content"]``. ``SparseEmbedding.indices`` are vocabulary ids (``SparseVocabulary``);
    ``to_token_weights`` gives the ``{token: weight}`` map a ``rank_features`` field holds.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.embedders.opensearch_pretrained import LocalSparseDocumentEmbedder

    embedder = LocalSparseDocumentEmbedder(model="opensearch-neural-sparse-encoding-doc-v3-gte")
    result = embedder.run(documents=[Document(content="OpenSearch is a search engine.")])
    result["documents"][0].sparse_embedding
    ```
    """

    def __init__(
        self,
        model: str = "opensearch-neural-sparse-encoding-doc-v3-gte",
        version: str | None = None,
        *,
        mirror: str | None = None,
        cache_dir: str | None = None,
        prefix: str = "",
        suffix: str = "",
        batch_size: int = 32,
        progress_bar: bool = True,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        concurrent_runs: int | None = None,
    ) -> None:
        """
        Create the component; the model is loaded at ``warm_up``, not here.

        :param model: A catalog sparse model (name or alias), or a directory / zip of a sparse artifact.
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept.
        :param prefix: Text put before each document's text.
        :param suffix: Text put after each document's text.
        :param batch_size: Texts per inference run; texts are sorted by length first, so runs pad little.
        :param progress_bar: Show download and encoding progress bars.
        :param meta_fields_to_embed: Meta fields whose values are encoded before the content.
        :param embedding_separator: Joins the meta values and the content.
        :param concurrent_runs: How many single-threaded inference runs go at once (default: the usable CPUs).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        LocalSparseComponent.__init__(self, model, version, mirror, cache_dir, progress_bar, concurrent_runs)
        self.prefix = prefix
        self.suffix = suffix
        self.batch_size = batch_size
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Encode documents.

        :param documents: The documents; they are not modified.
        :returns: ``documents`` (new objects with ``sparse_embedding`` set, in input order) and ``meta`` (model,
            version, counts of encoded documents and of documents without content).
        """
        prepared = prepare_documents(self, "LocalSparseTextEmbedder", documents)
        self.warm_up()
        with tqdm(
            total=len(prepared.texts), desc="Sparse-encoding documents", unit="doc", disable=not self.progress_bar
        ) as bar:
            embeddings = self._encode_sparse(prepared.texts, batch_size=self.batch_size, on_batch=bar.update)
        by_position = dict(zip(prepared.positions, embeddings, strict=True))
        return prepared.output(by_position, self._meta(), field="sparse_embedding")

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """
        Like ``run``, on a worker thread so the event loop stays free while the CPU computes.

        :param documents: The documents; they are not modified.
        :returns: ``documents`` (new objects with ``sparse_embedding`` set, in input order) and ``meta`` (model,
            version, counts of encoded documents and of documents without content).
        """
        return await asyncio.to_thread(self.run, documents)
