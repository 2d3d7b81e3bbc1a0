"""``LocalSparseTextEmbedder``: a query's neural sparse embedding on this machine, equal to the cluster's."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import component, default_from_dict
from haystack.dataclasses import SparseEmbedding

from opensearch_pretrained_haystack.inference.backend import (
    LocalBackend,
    SparseEngine,
    encode_sparse,
    load_sparse_engine,
    runner_meta,
)
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict
from opensearch_pretrained_haystack.text_preparation import check_text, prepare_text


@component
class LocalSparseTextEmbedder:
    """
    Encodes a query with a neural sparse model exactly as ML Commons would.

    A *query tokenizer* (SPARSE_TOKENIZE) or a bi-encoder (SPARSE_ENCODING, e.g. ``encoding-v2-distill``).

    A query tokenizer needs no torch and no cluster: the artifact's ``tokenizer.json`` and ``idf.json`` are all it
    takes; pair it with an index filled by a document-only encoder (the catalog's ``search_with``, e.g.
    ``doc-v3-gte`` with ``tokenizer-v1``). A bi-encoder runs its TorchScript artifact (the ``torch`` extra).
    ``SparseEmbedding.indices`` are vocabulary ids (see ``SparseVocabulary``); ``to_token_weights`` turns the
    embedding into the ``{token: weight}`` map of a ``neural_sparse`` query.

    Usage example:
    ```python
    from haystack_integrations.components.embedders.opensearch_pretrained import LocalSparseTextEmbedder

    embedder = LocalSparseTextEmbedder(model="opensearch-neural-sparse-tokenizer-v1")
    embedding = embedder.run(text="What is OpenSearch?")["sparse_embedding"]
    query_tokens = embedder.to_token_weights(embedding)
    ```
    """

    def __init__(
        self,
        model: str = "opensearch-neural-sparse-tokenizer-v1",
        version: str | None = None,
        *,
        mirror: str | None = None,
        cache_dir: str | None = None,
        prefix: str = "",
        suffix: str = "",
        progress_bar: bool = True,
        concurrent_runs: int | None = None,
    ) -> None:
        """
        Create the component; the tokenizer is loaded at ``warm_up``, not here.

        :param model: A catalog query tokenizer or bi-encoder (name or alias), or a directory / zip of a
            SPARSE_TOKENIZE or SPARSE_ENCODING artifact.
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept.
        :param prefix: Text put before the input.
        :param suffix: Text put after the input.
        :param progress_bar: Show the download progress bar.
        :param concurrent_runs: An encoder's single-threaded inference runs at once (default: the usable CPUs).
        """
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.prefix = prefix
        self.suffix = suffix
        self.progress_bar = progress_bar
        self.concurrent_runs = concurrent_runs
        self._backend: LocalBackend[SparseEngine] = LocalBackend(lambda: load_sparse_engine(self))

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalSparseTextEmbedder:
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

    @component.output_types(sparse_embedding=SparseEmbedding, meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """
        Encode one text.

        :param text: The query; a blank text gets an empty embedding, as in the cluster.
        :returns: ``sparse_embedding`` (indices: vocabulary ids, ascending) and ``meta`` (model name and version).
        """
        check_text(type(self).__name__, "LocalSparseDocumentEmbedder", text)
        engine = self._backend.warm_up()
        embedding = encode_sparse(engine, [prepare_text(text, self.prefix, self.suffix)])[0]
        return {"sparse_embedding": embedding, "meta": runner_meta(engine)}

    @component.output_types(sparse_embedding=SparseEmbedding, meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """
        Like ``run``, on a worker thread (the first call may download and load the tokenizer).

        :param text: The query; a blank text gets an empty embedding, as in the cluster.
        :returns: ``sparse_embedding`` (indices: vocabulary ids, ascending) and ``meta`` (model name and version).
        """
        return await asyncio.to_thread(self.run, text)
