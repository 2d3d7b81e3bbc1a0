"""
``LocalSparseDocumentEmbedder``.

Neural sparse embeddings of documents, computed on this machine with the maps the cluster's ``sparse_encoding`` ingest
processor would store.
"""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component, default_from_dict
from haystack.dataclasses import SparseEmbedding
from tqdm import tqdm

from opensearch_pretrained_haystack.inference.backend import (
    LocalBackend,
    SparseEngine,
    encode_sparse,
    load_sparse_engine,
    runner_meta,
)
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict
from opensearch_pretrained_haystack.text_preparation import prepare_documents


@component
class LocalSparseDocumentEmbedder:
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
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.prefix = prefix
        self.suffix = suffix
        self.batch_size = batch_size
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self.progress_bar = progress_bar
        self.concurrent_runs = concurrent_runs
        self._backend: LocalBackend[SparseEngine] = LocalBackend(lambda: load_sparse_engine(self))

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalSparseDocumentEmbedder:
        """Deserialize the component."""
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        """Load (or share) the model; calling it again does nothing."""
        self._backend.warm_up()

    def close(self) -> None:
        """Give back this component's share of the model; the next ``run`` warms up again."""
        self._backend.close()

    def to_token_weights(self, embedding: SparseEmbedding) -> dict[str, float]:
        """The ``{token: weight}`` map OpenSearch wants, for an embedding of this model's vocabulary."""
        return self._backend.warm_up().vocabulary.to_token_weights(embedding)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Encode documents.

        :param documents: The documents; they are not modified.
        :returns: ``documents`` (new objects with ``sparse_embedding`` set, in input order) and ``meta`` (model,
            version, counts of encoded documents and of documents without content).
        """
        prepared = prepare_documents(self, "LocalSparseTextEmbedder", documents)
        engine = self._backend.warm_up()
        with tqdm(
            total=len(prepared.texts), desc="Sparse-encoding documents", unit="doc", disable=not self.progress_bar
        ) as bar:
            embeddings = encode_sparse(engine, prepared.texts, batch_size=self.batch_size, on_batch=bar.update)
        by_position = dict(zip(prepared.positions, embeddings, strict=True))
        return prepared.output(by_position, runner_meta(engine), field="sparse_embedding")

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """
        Like ``run``, on a worker thread so the event loop stays free while the CPU computes.

        :param documents: The documents; they are not modified.
        :returns: ``documents`` (new objects with ``sparse_embedding`` set, in input order) and ``meta`` (model,
            version, counts of encoded documents and of documents without content).
        """
        return await asyncio.to_thread(self.run, documents)
