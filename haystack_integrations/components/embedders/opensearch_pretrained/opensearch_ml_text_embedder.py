"""`OpenSearchMLTextEmbedder`: embeds a query with a model deployed in ML Commons."""

from __future__ import annotations

from functools import partial
from typing import Any

from haystack import component

from opensearch_pretrained_haystack.cluster.backend import RemoteBackend, refuse_second_prefix
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.serialization import cluster_component_from_dict, cluster_component_to_dict
from opensearch_pretrained_haystack.text_preparation import check_text, prepare_text


@component
class OpenSearchMLTextEmbedder:
    """
    Embeds one string in the cluster; a drop-in for `LocalOnnxTextEmbedder` (e.g. in `OpenSearchHybridRetriever`).

    Usage example:
    ```python
    from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_text_embedder import (
        OpenSearchMLTextEmbedder,
    )

    embedder = OpenSearchMLTextEmbedder(hosts="http://localhost:9200", model_id=model_id)
    embedder.run(text="What is OpenSearch?")["embedding"]
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
        max_retries: int = 4,
        retry_deadline: float = 60.0,
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
        :param prefix: Text put before the input. An asymmetric model (registered with `query_prefix`) gets its
            own prefix in the cluster (this embedder sends `content_type` "query"), so leave this empty for it.
        :param suffix: Text put after the input.
        :param max_retries: Retries on 429, 502–504 and connection errors (exponential backoff, jitter).
        :param redeploy: If the model is found not deployed (undeployed, DEPLOY_FAILED after a restart), deploy it
            again and wait before embedding; without it that is one line of error naming the state.
        :param retry_deadline: Seconds one `run` may spend in total, retries included.
        """
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
        self.redeploy = redeploy
        self._backend = RemoteBackend(
            self,
            partial(OpenSearchMLEmbedder, batch_size=1, max_concurrency=1, redeploy=redeploy, content_type="query"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component; credentials only as Secret descriptions."""
        return cluster_component_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchMLTextEmbedder:
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

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """
        Embed one text.

        :param text: The text.
        :returns: `embedding` (a list of floats) and `meta` (`model`: the cluster's name of the model,
            `model_id`).
        """
        check_text(type(self).__name__, "OpenSearchMLDocumentEmbedder", text)
        embedder = self._backend.get()
        embedder.connect()
        embedder.read_model_name()
        refuse_second_prefix(embedder, self.prefix)
        vector = embedder.embed([prepare_text(text, self.prefix, self.suffix)])[0]
        return {"embedding": vector.tolist(), "meta": self._backend.meta()}

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """
        Like `run`, with the async client.

        :param text: The text.
        :returns: `embedding` (a list of floats) and `meta` (`model`: the cluster's name of the model,
            `model_id`).
        """
        check_text(type(self).__name__, "OpenSearchMLDocumentEmbedder", text)
        embedder = self._backend.get()
        embedder.connect_async()
        await embedder.read_model_name_async()
        refuse_second_prefix(embedder, self.prefix)
        vector = (await embedder.embed_async([prepare_text(text, self.prefix, self.suffix)]))[0]
        return {"embedding": vector.tolist(), "meta": self._backend.meta()}
