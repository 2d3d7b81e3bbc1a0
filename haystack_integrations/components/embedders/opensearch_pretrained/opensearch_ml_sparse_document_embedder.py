"""`OpenSearchMLSparseDocumentEmbedder`: sparse embeddings of documents, computed by a model deployed in ML Commons."""

from __future__ import annotations

from typing import Any

from haystack import Document, component
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.components.embedders.opensearch_pretrained._remote_component import RemoteDocumentEmbedding
from haystack_integrations.components.embedders.opensearch_pretrained._sparse_remote_component import (
    OpenSearchMLSparseComponent,
)
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.cluster.sparse_operations import SparseTask


@component
class OpenSearchMLSparseDocumentEmbedder(
    RemoteDocumentEmbedding[OpenSearchMLSparseEncoder], OpenSearchMLSparseComponent
):
    """
    Sets `sparse_embedding` on documents, encoded in the cluster by a SPARSE_ENCODING model.

    Same text preparation, batching, concurrency, retries and failure policy as `OpenSearchMLDocumentEmbedder`:
    documents come back as new objects, in order; one without content comes back unchanged; with
    `raise_on_failure=False` a document whose batch failed (after retries) comes back without a sparse embedding.
    Both are counted in `meta`; no document is ever dropped.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.embedders.opensearch_pretrained import OpenSearchMLSparseDocumentEmbedder

    embedder = OpenSearchMLSparseDocumentEmbedder(hosts="http://localhost:9200", model_id=model_id)
    result = embedder.run(documents=[Document(content="OpenSearch is a search engine.")])
    ```
    """

    field = "sparse_embedding"
    text_embedder = "OpenSearchMLSparseTextEmbedder"
    progress_description = "Sparse-encoding documents"

    def __init__(
        self,
        hosts: str | list[str],
        model_id: str,
        *,
        task_type: SparseTask = "SPARSE_ENCODING",
        vocabulary: str = "opensearch-neural-sparse-tokenizer-v1",
        vocabulary_version: str | None = None,
        mirror: str | None = None,
        cache_dir: str | None = None,
        http_auth: HttpAuth = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 60.0,
        prefix: str = "",
        suffix: str = "",
        batch_size: int = 32,
        max_concurrency: int = 2,
        max_retries: int = 4,
        retry_deadline: float = 300.0,
        raise_on_failure: bool = False,
        progress_bar: bool = True,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
    ) -> None:
        """
        Create the component; the client and the vocabulary are loaded at `warm_up`, not here.

        :param hosts: Cluster URL(s), e.g. "https://localhost:9200".
        :param model_id: A deployed ML Commons sparse model (see `PretrainedModelUploader`).
        :param task_type: The model's function: "SPARSE_ENCODING" or "SPARSE_TOKENIZE".
        :param vocabulary: The sparse artifact (catalog alias, directory or zip) whose tokenizer.json maps tokens to
            `SparseEmbedding.indices`: the catalog's `vocabulary` of the model (tokenizer-v1 for English models).
        :param vocabulary_version: Its catalog version; None takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, to fetch the vocabulary offline.
        :param cache_dir: Where verified artifacts are kept.
        :param http_auth: A (user, password) pair of Secrets, an `AWSAuth`, or None.
        :param verify_certs: Verify the cluster's TLS certificate.
        :param ca_certs: Path to a CA bundle for the cluster's certificate.
        :param timeout: Per-request timeout in seconds.
        :param prefix: Text put before each document's text.
        :param suffix: Text put after each document's text.
        :param batch_size: Texts per predict call.
        :param max_concurrency: Predict calls in flight at once.
        :param max_retries: Retries per batch on 429, 502–504 and connection errors (exponential backoff, jitter).
        :param retry_deadline: Seconds one `run` may spend in total, retries included.
        :param raise_on_failure: Raise on a failed batch instead of returning its documents without embedding.
        :param progress_bar: Show a progress bar.
        :param meta_fields_to_embed: Meta fields whose values are encoded before the content.
        :param embedding_separator: Joins the meta values and the content.
        """
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        OpenSearchMLSparseComponent.__init__(
            self,
            task_type=task_type,
            vocabulary=vocabulary,
            vocabulary_version=vocabulary_version,
            mirror=mirror,
            cache_dir=cache_dir,
            hosts=hosts,
            model_id=model_id,
            http_auth=http_auth,
            verify_certs=verify_certs,
            ca_certs=ca_certs,
            timeout=timeout,
            batch_size=batch_size,
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            retry_deadline=retry_deadline,
        )
        self.prefix = prefix
        self.suffix = suffix
        self.raise_on_failure = raise_on_failure
        self.progress_bar = progress_bar
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Encode documents.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (`model`: the cluster's name of the
            model, `model_id`, and counts of embedded, failed and content-less documents).
        """
        return self._embed_documents(documents)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """
        Like `run`, with the async client and at most `max_concurrency` requests in flight.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (`model`: the cluster's name of the
            model, `model_id`, and counts of embedded, failed and content-less documents).
        """
        return await self._embed_documents_async(documents)

    def _embedding(self, document: Document, result: dict[str, float]) -> SparseEmbedding:
        return self._vocab().to_sparse_embedding(result, source=f"document {document.id}'s map")
