"""`OpenSearchMLTextEmbedder`: embeds a query with a model deployed in ML Commons."""

from __future__ import annotations

from typing import Any, ClassVar

from haystack import component

from haystack_integrations.components.embedders.opensearch_pretrained._remote_component import OpenSearchMLComponent
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.text_preparation import check_text, prepare_text


@component
class OpenSearchMLTextEmbedder(OpenSearchMLComponent):
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

    content_type: ClassVar[str | None] = "query"

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
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        OpenSearchMLComponent.__init__(
            self,
            hosts=hosts,
            model_id=model_id,
            http_auth=http_auth,
            verify_certs=verify_certs,
            ca_certs=ca_certs,
            timeout=timeout,
            batch_size=1,
            max_concurrency=1,
            max_retries=max_retries,
            retry_deadline=retry_deadline,
            redeploy=redeploy,
        )
        self.prefix = prefix
        self.suffix = suffix

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """
        Embed one text.

        :param text: The text.
        :returns: `embedding` (a list of floats) and `meta` (`model`: the cluster's name of the model,
            `model_id`).
        """
        check_text(type(self).__name__, "OpenSearchMLDocumentEmbedder", text)
        self.warm_up()
        self._backend().read_model_name()
        self._check_model()
        vector = self._backend().embed([prepare_text(text, self.prefix, self.suffix)])[0]
        return {"embedding": vector.tolist(), "meta": self._meta()}

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """
        Like `run`, with the async client.

        :param text: The text.
        :returns: `embedding` (a list of floats) and `meta` (`model`: the cluster's name of the model,
            `model_id`).
        """
        check_text(type(self).__name__, "OpenSearchMLDocumentEmbedder", text)
        await self.warm_up_async()
        await self._backend().read_model_name_async()
        self._check_model()
        vector = (await self._backend().embed_async([prepare_text(text, self.prefix, self.suffix)]))[0]
        return {"embedding": vector.tolist(), "meta": self._meta()}
