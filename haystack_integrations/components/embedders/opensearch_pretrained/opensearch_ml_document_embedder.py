"""`OpenSearchMLDocumentEmbedder`: embeds documents with a model deployed in ML Commons."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from haystack import Document, component

from opensearch_pretrained_haystack.cluster.backend import DocumentRun, RemoteBackend, refuse_second_prefix
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.serialization import cluster_component_from_dict, cluster_component_to_dict
from opensearch_pretrained_haystack.text_preparation import prepare_documents


@component
class OpenSearchMLDocumentEmbedder:
    """
    Embeds documents in the cluster, with the same text preparation and outputs as `LocalOnnxDocumentEmbedder`.

    Documents come back as new objects, in order. A document without content comes back unchanged; with
    `raise_on_failure=False` a document whose batch failed (after retries) comes back without an
    embedding. Both are counted in `meta`; no document is ever dropped.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_document_embedder import (
        OpenSearchMLDocumentEmbedder,
    )

    embedder = OpenSearchMLDocumentEmbedder(hosts="http://localhost:9200", model_id=model_id)
    result = embedder.run(documents=[Document(content="OpenSearch is a search engine.")])
    ```
    """

    def __init__(
        self,
        hosts: str | list[str],
        model_id: str,
        *,
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
        redeploy: bool = False,
    ) -> None:
        """
        Create the component; the client is built at `warm_up`, not here.

        :param hosts: Cluster URL(s), e.g. "https://localhost:9200".
        :param model_id: A deployed ML Commons text-embedding model (see `PretrainedModelUploader`).
        :param http_auth: A (user, password) pair of Secrets, an `AWSAuth`, or None.
        :param verify_certs: Verify the cluster's TLS certificate.
        :param ca_certs: Path to a CA bundle for the cluster's certificate.
        :param timeout: Per-request timeout in seconds.
        :param prefix: Text put before each document's text. An asymmetric model (registered with
            `passage_prefix`) gets its own prefix in the cluster (this embedder sends `content_type` "passage"), so
            leave this empty for it.
        :param suffix: Text put after each document's text.
        :param batch_size: Texts per predict call.
        :param max_concurrency: Predict calls in flight at once.
        :param max_retries: Retries per batch on 429, 502–504 and connection errors (exponential backoff, jitter).
        :param redeploy: If the model is found not deployed (undeployed, DEPLOY_FAILED after a restart), deploy it
            again and wait before embedding; without it that is one line of error naming the state.
        :param retry_deadline: Seconds one `run` may spend in total, retries included.
        :param raise_on_failure: Raise on a failed batch instead of returning its documents without embedding.
        :param progress_bar: Show a progress bar.
        :param meta_fields_to_embed: Meta fields whose values are embedded before the content.
        :param embedding_separator: Joins the meta values and the content.
        """
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
        self.redeploy = redeploy
        self._backend = RemoteBackend(
            self,
            partial(
                OpenSearchMLEmbedder,
                batch_size=batch_size,
                max_concurrency=max_concurrency,
                redeploy=redeploy,
                content_type="passage",
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component; credentials only as Secret descriptions."""
        return cluster_component_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchMLDocumentEmbedder:
        """Deserialize the component."""
        return cluster_component_from_dict(cls, data)

    def warm_up(self) -> None:
        """Build the blocking client (resolving credentials); calling it again does nothing."""
        self._backend.warm_up()

    async def warm_up_async(self) -> None:
        """Build the async client on the running event loop; calling it again does nothing."""
        await self._backend.warm_up_async()

    def close(self) -> None:
        """Release the blocking client; the async one is untouched."""
        self._backend.close()

    async def close_async(self) -> None:
        """Release the async client; the blocking one is untouched."""
        await self._backend.close_async()

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Embed documents.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (`model`: the cluster's name of the
            model, `model_id`, and counts of embedded, failed and content-less documents).
        """
        prepared = prepare_documents(self, "OpenSearchMLTextEmbedder", documents)
        return self._backend.embed_documents(prepared, self._run(), self._check)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """
        Like `run`, with the async client and at most `max_concurrency` requests in flight.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (`model`: the cluster's name of the
            model, `model_id`, and counts of embedded, failed and content-less documents).
        """
        prepared = prepare_documents(self, "OpenSearchMLTextEmbedder", documents)
        return await self._backend.embed_documents_async(prepared, self._run(), self._check)

    def _run(self) -> DocumentRun:
        return DocumentRun(type(self).__name__, self.raise_on_failure, self.progress_bar, _embedding)

    def _check(self, embedder: OpenSearchMLEmbedder) -> None:
        refuse_second_prefix(embedder, self.prefix)


def _embedding(document: Document, result: np.ndarray) -> list[float]:
    vector: list[float] = result.tolist()
    return vector
