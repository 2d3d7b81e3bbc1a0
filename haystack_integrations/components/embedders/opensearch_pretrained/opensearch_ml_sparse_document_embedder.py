"""`OpenSearchMLSparseDocumentEmbedder`: sparse embeddings of documents, computed by a model deployed in ML Commons."""

from __future__ import annotations

from functools import partial
from typing import Any

from haystack import Document, component
from haystack.dataclasses import SparseEmbedding

from opensearch_pretrained_haystack.cluster.backend import DocumentRun, RemoteBackend
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.cluster.serialization import cluster_component_from_dict, cluster_component_to_dict
from opensearch_pretrained_haystack.cluster.sparse_operations import SparseTask
from opensearch_pretrained_haystack.inference.sparse_tokenizer import VocabularyShare
from opensearch_pretrained_haystack.text_preparation import prepare_documents


@component
class OpenSearchMLSparseDocumentEmbedder:
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
        self.task_type = task_type
        self.vocabulary = vocabulary
        self.vocabulary_version = vocabulary_version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.hosts = hosts
        self.model_id = model_id
        self.http_auth = tuple(http_auth) if isinstance(http_auth, list) else http_auth
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self.prefix = prefix
        self.suffix = suffix
        self.raise_on_failure = raise_on_failure
        self.progress_bar = progress_bar
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_deadline = retry_deadline
        self._backend = RemoteBackend(
            self,
            partial(
                OpenSearchMLSparseEncoder, task_type=task_type, batch_size=batch_size, max_concurrency=max_concurrency
            ),
        )
        self._vocabulary = VocabularyShare(vocabulary, vocabulary_version, mirror=mirror, cache_dir=cache_dir)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component; credentials only as Secret descriptions."""
        return cluster_component_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchMLSparseDocumentEmbedder:
        """Deserialize the component."""
        return cluster_component_from_dict(cls, data)

    def warm_up(self) -> None:
        """Build the blocking client (resolving credentials) and load the vocabulary; calling it again does nothing."""
        self._backend.warm_up()
        self._vocabulary.load()

    async def warm_up_async(self) -> None:
        """Build the async client on the running event loop and load the vocabulary; calling it again does nothing."""
        await self._backend.warm_up_async()
        self._vocabulary.load()

    def close(self) -> None:
        """
        Release the blocking client and give back this component's share of the vocabulary.

        The async client is untouched.
        """
        self._backend.close()
        self._vocabulary.release()

    async def close_async(self) -> None:
        """Release the async client; the blocking one is untouched."""
        await self._backend.close_async()

    def to_token_weights(self, embedding: SparseEmbedding) -> dict[str, float]:
        """A `SparseEmbedding` of this vocabulary as the `{token: weight}` map OpenSearch wants."""
        return self._vocabulary.load().to_token_weights(embedding)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Encode documents.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (`model`: the cluster's name of the
            model, `model_id`, and counts of embedded, failed and content-less documents).
        """
        prepared = prepare_documents(self, "OpenSearchMLSparseTextEmbedder", documents)
        self._vocabulary.load()
        return self._backend.embed_documents(prepared, self._run())

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """
        Like `run`, with the async client and at most `max_concurrency` requests in flight.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (`model`: the cluster's name of the
            model, `model_id`, and counts of embedded, failed and content-less documents).
        """
        prepared = prepare_documents(self, "OpenSearchMLSparseTextEmbedder", documents)
        self._vocabulary.load()
        return await self._backend.embed_documents_async(prepared, self._run())

    def _run(self) -> DocumentRun:
        return DocumentRun(
            type(self).__name__,
            self.raise_on_failure,
            self.progress_bar,
            self._embedding,
            field="sparse_embedding",
            description="Sparse-encoding documents",
        )

    def _embedding(self, document: Document, result: dict[str, float]) -> SparseEmbedding:
        return self._vocabulary.load().to_sparse_embedding(result, source=f"document {document.id}'s map")
