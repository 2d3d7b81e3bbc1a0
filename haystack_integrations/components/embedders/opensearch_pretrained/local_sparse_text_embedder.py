"""``LocalSparseTextEmbedder``: a query's neural sparse embedding on this machine, equal to the cluster's."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import component
from haystack.dataclasses import SparseEmbedding

from opensearch_pretrained_haystack.artifacts import Lease
from opensearch_pretrained_haystack.inference.sparse_tokenizer import (
    SparseTokenizer,
    resolve_sparse_artifact,
    shared_sparse_tokenizer,
)
from opensearch_pretrained_haystack.serialization import (
    InitParametersSerialization,
)
from opensearch_pretrained_haystack.text_preparation import check_text, prepare_text


@component
class LocalSparseTextEmbedder(InitParametersSerialization):
    """Encodes a query with a neural sparse *query tokenizer* (SPARSE_TOKENIZE), exactly as ML Commons would.

    No torch and no cluster: the artifact's ``tokenizer.json`` and ``idf.json`` are all it takes. Pair it with an
    index filled by a document-only encoder (the catalog's ``search_with``, e.g. ``doc-v3-gte`` with
    ``tokenizer-v1``). ``SparseEmbedding.indices`` are vocabulary ids (see ``SparseVocabulary``);
    ``to_token_weights`` turns the embedding into the ``{token: weight}`` map of a ``neural_sparse`` query.

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
    ) -> None:
        """
        Create the component; the tokenizer is loaded at ``warm_up``, not here.

        :param model: A catalog query tokenizer (name or alias), or a directory / zip of a SPARSE_TOKENIZE artifact.
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept.
        :param prefix: Text put before the input.
        :param suffix: Text put after the input.
        :param progress_bar: Show the download progress bar.
        """
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.prefix = prefix
        self.suffix = suffix
        self.progress_bar = progress_bar
        self._tokenizer: SparseTokenizer | None = None
        self._lease: Lease[SparseTokenizer] | None = None

    def warm_up(self) -> None:
        """Load (or reuse) the tokenizer; calling it again does nothing."""
        if self._tokenizer is None:
            self._lease = shared_sparse_tokenizer(
                resolve_sparse_artifact(
                    self.model,
                    self.version,
                    mirror=self.mirror,
                    cache_dir=self.cache_dir,
                    progress_bar=self.progress_bar,
                )
            )
            self._tokenizer = self._lease.value

    def close(self) -> None:
        """Give back this component's share of the tokenizer; the next ``run`` warms up again."""
        if self._lease is not None:
            self._lease.release()
        self._tokenizer = self._lease = None

    def _warm(self) -> SparseTokenizer:
        self.warm_up()
        assert self._tokenizer is not None
        return self._tokenizer

    @component.output_types(sparse_embedding=SparseEmbedding, meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """
        Encode one text.

        :param text: The query; a blank text gets an empty embedding, as in the cluster.
        :returns: ``sparse_embedding`` (indices: vocabulary ids, ascending) and ``meta`` (model name and version).
        """
        check_text(type(self).__name__, "OpenSearchMLSparseDocumentEmbedder", text)
        tokenizer = self._warm()
        embedding = tokenizer.encode_sparse([prepare_text(text, self.prefix, self.suffix)])[0]
        return {"sparse_embedding": embedding, "meta": {"model": tokenizer.name, "version": tokenizer.version}}

    @component.output_types(sparse_embedding=SparseEmbedding, meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """Like ``run``, on a worker thread (the first call may download and load the tokenizer)."""
        return await asyncio.to_thread(self.run, text)

    def to_token_weights(self, embedding: SparseEmbedding) -> dict[str, float]:
        """The ``{token: weight}`` map OpenSearch wants, for an embedding of this tokenizer's vocabulary."""
        return self._warm().vocabulary.to_token_weights(embedding)
