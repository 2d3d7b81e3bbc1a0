"""``OpenSearchMLRanker``: reranks documents with a cross-encoder deployed in ML Commons."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from haystack import Document, component

from haystack_integrations.components.rankers.opensearch_pretrained._ranking import PreparedRanking, RankingParameters
from opensearch_pretrained_haystack.cluster.backend import RemoteBackend
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchOutcome, BatchPredict, OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.serialization import cluster_component_from_dict, cluster_component_to_dict
from opensearch_pretrained_haystack.cluster.text_similarity import predict_similarity


@component
class OpenSearchMLRanker(RankingParameters):
    """
    Ranks documents with the cluster's ``_predict`` of a TEXT_SIMILARITY model (``query_text``, ``text_docs``).

    Documents are sent in batches of ``batch_size``, at most ``max_concurrency`` calls at a time, each retried on
    429, 502–504 and connection errors with backoff, all within ``retry_deadline`` — as the cluster embedders do.
    A batch that still fails raises (a ranking with holes would be wrong). Scores equal ``LocalOnnxRanker``'s for
    the same model to 1e-5. Documents without content are returned after the ranked ones with ``score=None``
    (never dropped), and a warning counts them.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.rankers.opensearch_pretrained import OpenSearchMLRanker

    ranker = OpenSearchMLRanker(hosts="http://localhost:9200", model_id=model_id, top_k=3)
    result = ranker.run(query="What is OpenSearch?", documents=[Document(content="OpenSearch is a search engine.")])
    ```
    """

    def __init__(
        self,
        *,
        hosts: str | list[str],
        model_id: str,
        http_auth: HttpAuth = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 60.0,
        top_k: int = 10,
        query_prefix: str = "",
        query_suffix: str = "",
        document_prefix: str = "",
        document_suffix: str = "",
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        scale_score: bool = False,
        score_threshold: float | None = None,
        batch_size: int = 32,
        max_concurrency: int = 2,
        max_retries: int = 4,
        retry_deadline: float = 300.0,
    ) -> None:
        """
        Create the component; the client is built at ``warm_up``, not here.

        :param hosts: Cluster URL(s), e.g. "https://localhost:9200".
        :param model_id: A deployed ML Commons TEXT_SIMILARITY model (see ``PretrainedModelUploader``).
        :param http_auth: A (user, password) pair of Secrets, an ``AWSAuth``, or None.
        :param verify_certs: Verify the cluster's TLS certificate.
        :param ca_certs: Path to a CA bundle for the cluster's certificate.
        :param timeout: Per-request timeout in seconds.
        :param top_k: How many ranked documents to return at most.
        :param query_prefix: Text put before the query.
        :param query_suffix: Text put after the query.
        :param document_prefix: Text put before each document's text.
        :param document_suffix: Text put after each document's text.
        :param meta_fields_to_embed: Meta fields whose values are put before the content.
        :param embedding_separator: Joins the meta values and the content.
        :param scale_score: Apply a sigmoid to the scores. The cluster returns raw logits, so the default ``False``
            keeps scores, and thresholds, identical to the cluster's own (``_predict`` and the ``rerank`` search
            processor); the order is the same either way (Sentence Transformers' ranker defaults to ``True``).
        :param score_threshold: Return only documents scoring at least this (after scaling, if any).
        :param batch_size: Documents per predict call.
        :param max_concurrency: Predict calls in flight at once.
        :param max_retries: Retries per batch on 429, 502–504 and connection errors (exponential backoff, jitter).
        :param retry_deadline: Seconds one ``run`` may spend in total, retries included.
        """
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        RankingParameters.__init__(
            self,
            top_k,
            query_prefix,
            query_suffix,
            document_prefix,
            document_suffix,
            meta_fields_to_embed,
            embedding_separator,
            scale_score,
            score_threshold,
            batch_size,
        )
        self.hosts = hosts
        self.model_id = model_id
        self.http_auth = tuple(http_auth) if isinstance(http_auth, list) else http_auth
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_deadline = retry_deadline
        self._backend = RemoteBackend(
            self, partial(OpenSearchMLEmbedder, batch_size=batch_size, max_concurrency=max_concurrency)
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component; credentials only as Secret descriptions."""
        return cluster_component_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchMLRanker:
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

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        scale_score: bool | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, list[Document]]:
        """
        Rank documents by their relevance to the query.

        :param query: The query.
        :param documents: The documents to rank; they are not modified.
        :param top_k: Overrides ``top_k`` of ``__init__``.
        :param scale_score: Overrides ``scale_score`` of ``__init__``.
        :param score_threshold: Overrides ``score_threshold`` of ``__init__``.
        :returns: ``documents``: new objects with ``score`` set, best first, then the documents without content.
        """
        prepared = self._prepare(query, documents, top_k)
        self.warm_up()
        outcomes = self._backend.get().embed_batches(prepared.texts, predict=self._predict_call(prepared))
        return self._ranked(
            documents,
            prepared,
            _logits(outcomes),
            top_k=top_k,
            scale_score=scale_score,
            score_threshold=score_threshold,
        )

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        scale_score: bool | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, list[Document]]:
        """
        Like ``run``, with the async client and at most ``max_concurrency`` requests in flight.

        :param query: The query.
        :param documents: The documents to rank; they are not modified.
        :param top_k: Overrides ``top_k`` of ``__init__``.
        :param scale_score: Overrides ``scale_score`` of ``__init__``.
        :param score_threshold: Overrides ``score_threshold`` of ``__init__``.
        :returns: ``documents``: new objects with ``score`` set, best first, then the documents without content.
        """
        prepared = self._prepare(query, documents, top_k)
        await self.warm_up_async()
        outcomes = await self._backend.get().embed_batches_async(prepared.texts, predict=self._predict_call(prepared))
        return self._ranked(
            documents,
            prepared,
            _logits(outcomes),
            top_k=top_k,
            scale_score=scale_score,
            score_threshold=score_threshold,
        )

    def _predict_call(self, prepared: PreparedRanking) -> BatchPredict[np.ndarray]:
        return partial(predict_similarity, self.model_id, prepared.query)


def _logits(outcomes: list[BatchOutcome[np.ndarray]]) -> np.ndarray:
    """All batches' logits in document order; the first failed batch's error is raised."""
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return np.concatenate([o.vectors for o in outcomes if o.vectors is not None] or [np.empty(0, np.float32)])
