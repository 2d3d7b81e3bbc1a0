"""
``OpenSearchMLSemanticHighlighter``.

The sentences of each document that answer a query, from the semantic sentence highlighter deployed in ML Commons.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from haystack import Document, component

from haystack_integrations.components.extractors.opensearch_pretrained._highlights import (
    HighlightInput,
    output,
    prepare,
)
from opensearch_pretrained_haystack.cluster.backend import RemoteBackend
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchedPredictor, BatchOutcome
from opensearch_pretrained_haystack.cluster.serialization import cluster_component_from_dict, cluster_component_to_dict
from opensearch_pretrained_haystack.highlighting.remote import predict_highlights
from opensearch_pretrained_haystack.highlighting.sentences import Sentence

logger = logging.getLogger(__name__)

Answers = list[list[Sentence] | MLCommonsError]
"""One batch's answers, per document: the selected sentences, or the error the cluster gave for that document."""


@component
class OpenSearchMLSemanticHighlighter:
    """
    Highlights, in each document, the sentences that answer the query, with the cluster's sentence highlighter.

    It calls ``_predict`` of a QUESTION_ANSWERING model of type sentence_highlighting (OpenSearch 3.0+).

    The documents come back as new objects with ``semantic_highlights`` (the selected sentences: ``text``,
    ``start``, ``end``, ``position``) and ``semantic_highlight`` (their texts joined) in their meta; offsets are
    Python indices into ``content`` (the cluster's are UTF-16 code units). The cluster decides which sentences;
    their text and offsets are the true ones of the content, also where the cluster's abbreviation rewrite would
    report "@@@" and shifted offsets. Each document is one predict call; ``batch_size`` of them go in one
    retried unit, at most ``max_concurrency`` units at a time, each retried on 429, 502–504 and connection errors
    with backoff, all within ``retry_deadline``. A document the cluster fails on for good (it answers HTTP 500 on
    some long documents) comes back unchanged, counted in ``meta["documents_failed"]`` and logged; with
    ``raise_on_failure=True`` the error is raised instead. Documents without content come back unchanged, counted.
    ``LocalSemanticHighlighter`` gives the same answers without a cluster.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.extractors.opensearch_pretrained import OpenSearchMLSemanticHighlighter

    highlighter = OpenSearchMLSemanticHighlighter(hosts="http://localhost:9200", model_id=model_id)
    result = highlighter.run(query="Where do the men play?",
                             documents=[Document(content="The men play on the beach. The sun is bright.")])
    result["documents"][0].meta["semantic_highlight"]  # e.g. "The men play on the beach."
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
        batch_size: int = 1,
        max_concurrency: int = 2,
        max_retries: int = 4,
        retry_deadline: float = 300.0,
        raise_on_failure: bool = False,
    ) -> None:
        """
        Create the component; the client is built at ``warm_up``, not here.

        :param hosts: Cluster URL(s), e.g. "https://localhost:9200".
        :param model_id: A deployed sentence highlighter (see ``PretrainedModelUploader``).
        :param http_auth: A (user, password) pair of Secrets, an ``AWSAuth``, or None.
        :param verify_certs: Verify the cluster's TLS certificate.
        :param ca_certs: Path to a CA bundle for the cluster's certificate.
        :param timeout: Per-request timeout in seconds.
        :param batch_size: Documents per retried unit (one predict call each: the model reads one pair per call).
        :param max_concurrency: Units in flight at once.
        :param max_retries: Retries per unit on 429, 502–504 and connection errors (exponential backoff, jitter).
        :param retry_deadline: Seconds one ``run`` may spend in total, retries included.
        :param raise_on_failure: Raise the first document's error instead of returning it without highlights.
        """
        self.hosts = hosts
        self.model_id = model_id
        self.http_auth = tuple(http_auth) if isinstance(http_auth, list) else http_auth
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_deadline = retry_deadline
        self.raise_on_failure = raise_on_failure
        self._backend: RemoteBackend[BatchedPredictor[Answers]] = RemoteBackend(
            self, partial(BatchedPredictor, batch_size=batch_size, max_concurrency=max_concurrency)
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component; credentials only as Secret descriptions."""
        return cluster_component_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenSearchMLSemanticHighlighter:
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
    def run(self, query: str, documents: list[Document]) -> dict[str, Any]:
        """
        Highlight the sentences of each document that answer the query.

        :param query: The question.
        :param documents: The documents; they are not modified.
        :returns: ``documents``: new objects with the highlights in their meta (see the class docstring), in input
            order; ``meta``: ``model_id`` and the counts of highlighted, failed and content-less documents.
        """
        prepared = prepare(type(self).__name__, "LocalSemanticHighlighter", query, documents)
        self.warm_up()
        backend = self._backend.get()
        outcomes = backend.embed_batches(prepared.contexts, predict=partial(predict_highlights, self.model_id, query))
        return self._output(prepared, outcomes)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, query: str, documents: list[Document]) -> dict[str, Any]:
        """
        Like ``run``, with the async client and at most ``max_concurrency`` units in flight.

        :param query: The question.
        :param documents: The documents; they are not modified.
        :returns: ``documents``: new objects with the highlights in their meta (see the class docstring), in input
            order; ``meta``: ``model_id`` and the counts of highlighted, failed and content-less documents.
        """
        prepared = prepare(type(self).__name__, "LocalSemanticHighlighter", query, documents)
        await self.warm_up_async()
        backend = self._backend.get()
        predict = partial(predict_highlights, self.model_id, query)
        return self._output(prepared, await backend.embed_batches_async(prepared.contexts, predict=predict))

    def _output(self, prepared: HighlightInput, outcomes: list[BatchOutcome[Answers]]) -> dict[str, Any]:
        answers: dict[int, list[Sentence]] = {}
        for outcome in outcomes:
            positions = prepared.positions[outcome.start : outcome.stop]
            if outcome.error is not None:
                results: Answers = [outcome.error] * len(positions)
            else:
                assert outcome.vectors is not None  # a batch holds either answers or an error
                results = outcome.vectors
            for i, result in zip(positions, results, strict=True):
                if isinstance(result, MLCommonsError):
                    if self.raise_on_failure:
                        raise result
                    logger.warning("%s: document %s: %s", type(self).__name__, prepared.documents[i].id, result)
                else:
                    answers[i] = result
        return output(prepared, answers, {"model_id": self.model_id})
