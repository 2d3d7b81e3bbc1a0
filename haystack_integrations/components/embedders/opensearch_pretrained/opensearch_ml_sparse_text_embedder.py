"""`OpenSearchMLSparseTextEmbedder`: a query's sparse embedding, computed by a model deployed in ML Commons."""

from __future__ import annotations

from functools import partial
from typing import Any

from haystack import component
from haystack.dataclasses import SparseEmbedding

from opensearch_pretrained_haystack.cluster.backend import RemoteBackend
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.cluster.serialization import cluster_component_from_dict, cluster_component_to_dict
from opensearch_pretrained_haystack.cluster.sparse_operations import SparseTask
from opensearch_pretrained_haystack.inference.sparse_tokenizer import VocabularyShare
from opensearch_pretrained_haystack.text_preparation import check_text, prepare_text


@component
class OpenSearchMLSparseTextEmbedder:
    """
    Encodes one string in the cluster with a SPARSE_ENCODING (bi-encoder) or SPARSE_TOKENIZE model.

    For a query tokenizer, `LocalSparseTextEmbedder` gives the same embedding without a round trip.

    Usage example:
    ```python
    from haystack_integrations.components.embedders.opensearch_pretrained import OpenSearchMLSparseTextEmbedder

    embedder = OpenSearchMLSparseTextEmbedder(hosts="http://localhost:9200", model_id=model_id)
    embedder.run(text="What is OpenSearch?")["sparse_embedding"]
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
        max_retries: int = 4,
        retry_deadline: float = 60.0,
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
        :param prefix: Text put before the input.
        :param suffix: Text put after the input.
        :param max_retries: Retries on 429, 502–504 and connection errors (exponential backoff, jitter).
        :param retry_deadline: Seconds one `run` may spend in total, retries included.
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
        self.max_retries = max_retries
        self.retry_deadline = retry_deadline
        self._backend = RemoteBackend(
            self, partial(OpenSearchMLSparseEncoder, task_type=task_type, batch_size=1, max_concurrency=1)
        )
        self._vocabulary = VocabularyShare(vocabulary, vocabulary_version, mirror=mirror, cache_dir=cache_dir)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component; credentials only as Secret descriptions."""
        return cluster_component_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchMLSparseTextEmbedder:
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

    @component.output_types(sparse_embedding=SparseEmbedding, meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """
        Encode one text.

        :param text: The text.
        :returns: `sparse_embedding` (indices: vocabulary ids, ascending) and `meta` (`model`: the cluster's
            name of the model, `model_id`).
        """
        check_text(type(self).__name__, "OpenSearchMLSparseDocumentEmbedder", text)
        self.warm_up()
        encoder = self._backend.get()
        encoder.read_model_name()
        weights = encoder.encode([prepare_text(text, self.prefix, self.suffix)])[0]
        return {"sparse_embedding": self._embedding(weights), "meta": self._backend.meta()}

    @component.output_types(sparse_embedding=SparseEmbedding, meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """
        Like `run`, with the async client.

        :param text: The text.
        :returns: `sparse_embedding` (indices: vocabulary ids, ascending) and `meta` (`model`: the cluster's
            name of the model, `model_id`).
        """
        check_text(type(self).__name__, "OpenSearchMLSparseDocumentEmbedder", text)
        await self.warm_up_async()
        encoder = self._backend.get()
        await encoder.read_model_name_async()
        weights = (await encoder.encode_async([prepare_text(text, self.prefix, self.suffix)]))[0]
        return {"sparse_embedding": self._embedding(weights), "meta": self._backend.meta()}

    def _embedding(self, weights: dict[str, float]) -> SparseEmbedding:
        return self._vocabulary.load().to_sparse_embedding(weights, source=f"model {self.model_id}'s map")
