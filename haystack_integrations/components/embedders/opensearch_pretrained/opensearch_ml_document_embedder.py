"""`OpenSearchMLDocumentEmbedder`: embeds documents with a model deployed in ML Commons."""

from __future__ import annotations

import logging
from typing import Any, Never

import numpy as np
from haystack import Document, component
from tqdm import tqdm

from haystack_integrations.components.embedders.opensearch_pretrained._remote_component import OpenSearchMLComponent
from haystack_integrations.components.embedders.opensearch_pretrained._text_preparation import (
    check_documents,
    texts_to_embed,
    with_embeddings,
)
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchOutcome

logger = logging.getLogger(__name__)


@component
class OpenSearchMLDocumentEmbedder(OpenSearchMLComponent):
    """Embeds documents in the cluster, with the same text preparation and outputs as `LocalOnnxDocumentEmbedder`.

    Documents come back as new objects. A document without content comes back unchanged; with
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
    ) -> None:
        """
        Create the component; the client is built at `warm_up`, not here.

        :param hosts: Cluster URL(s), e.g. "https://localhost:9200".
        :param model_id: A deployed ML Commons text-embedding model (see `PretrainedModelUploader`).
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
        :param meta_fields_to_embed: Meta fields whose values are embedded before the content.
        :param embedding_separator: Joins the meta values and the content.
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
        Embed documents.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (`model`: the cluster's name of the
            model, `model_id`, and counts of embedded, failed and content-less documents).
        """
        to_embed, texts = self._prepare(documents)
        self.warm_up()
        try:
            self._backend().read_model_name()
        except MLCommonsError as error:
            self._name_unknown(error)
        with self._progress(len(texts)) as bar:
            outcomes = self._backend().embed_batches(texts, progress=bar.update)
        return self._assemble(documents, to_embed, outcomes)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """Like `run`, with the async client and at most `max_concurrency` requests in flight."""
        to_embed, texts = self._prepare(documents)
        await self.warm_up_async()
        try:
            await self._backend().read_model_name_async()
        except MLCommonsError as error:
            self._name_unknown(error)
        with self._progress(len(texts)) as bar:
            outcomes = await self._backend().embed_batches_async(texts, progress=bar.update)
        return self._assemble(documents, to_embed, outcomes)

    def _name_unknown(self, error: MLCommonsError) -> None:
        """Without `raise_on_failure`, a cluster that cannot even name the model still gets every document back
        (the batches fail and are counted); `meta["model"]` stays None."""
        if self.raise_on_failure:
            raise error
        logger.warning("%s: could not read the model's name: %s", type(self).__name__, error)

    def _prepare(self, documents: list[Document]) -> tuple[list[int], list[str]]:
        check_documents(type(self).__name__, "OpenSearchMLTextEmbedder", documents)
        return texts_to_embed(
            type(self).__name__,
            documents,
            prefix=self.prefix,
            suffix=self.suffix,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
        )

    def _progress(self, total: int) -> tqdm[Never]:
        return tqdm(total=total, desc="Embedding documents", unit="doc", disable=not self.progress_bar)

    def _assemble(
        self, documents: list[Document], to_embed: list[int], outcomes: list[BatchOutcome[np.ndarray]]
    ) -> dict[str, Any]:
        embeddings: dict[int, list[float]] = {}
        failed: list[int] = []
        for outcome in outcomes:
            positions = to_embed[outcome.start : outcome.stop]
            if outcome.error is not None:
                if self.raise_on_failure:
                    raise outcome.error
                failed.extend(positions)
                ids = ", ".join(documents[i].id for i in positions[:5])
                logger.warning(
                    "%s: a batch of %d documents failed (%s): %s",
                    type(self).__name__,
                    len(positions),
                    ids,
                    outcome.error,
                )
                continue
            assert outcome.vectors is not None  # a batch holds either vectors or an error
            embeddings.update({i: vector.tolist() for i, vector in zip(positions, outcome.vectors, strict=True)})
        meta = {
            **self._meta(),
            "documents_embedded": len(embeddings),
            "documents_failed": len(failed),
            "documents_without_content": len(documents) - len(to_embed),
        }
        return {"documents": with_embeddings(documents, embeddings), "meta": meta}
