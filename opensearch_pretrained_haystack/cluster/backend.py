"""
`RemoteBackend`: what a component that runs a model deployed in ML Commons holds, beside its own parameters.

A component keeps its `__init__` parameters as attributes (they serialize) and one `RemoteBackend`, which builds
the family's predictor (`OpenSearchMLEmbedder`, `OpenSearchMLSparseEncoder`, or a plain `BatchedPredictor` given a
predict call) from those parameters at first use, and runs its lifecycle as in Haystack 3's remote embedders:
`warm_up` / `warm_up_async` build the sync / async opensearch-py client (resolving Secrets there, never in
`__init__`); `close` / `close_async` release them independently. `embed_documents` is the whole `run` of a
document embedder (dense or sparse): batches in the cluster and the failure policy.

`meta["model"]` is the model's name as the cluster reports it (read once, at the first run), as the local
embedders report their catalog name; `meta["model_id"]` is the cluster's id of the deployed model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from haystack import Document
from tqdm import tqdm

from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchedPredictor, BatchOutcome, OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.text_preparation import PreparedDocuments

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=BatchedPredictor[Any])
"""The family's predictor a component runs."""


class ClusterModelParameters(Protocol):
    """The parameters every cluster component declares: where the model is, how to reach it, how long to retry."""

    hosts: str | list[str]
    model_id: str
    http_auth: HttpAuth
    verify_certs: bool
    ca_certs: str | None
    timeout: float
    max_retries: int
    retry_deadline: float


@dataclass(frozen=True)
class DocumentRun:
    """How a document embedder turns its predictor's results into documents."""

    owner: str
    """The component's class name, for messages."""
    raise_on_failure: bool
    progress_bar: bool
    value: Callable[[Document, Any], Any]
    """What the predictor gave for a document's text, as the value of `field`."""
    field: str = "embedding"
    description: str = "Embedding documents"


class RemoteBackend(Generic[P]):
    """The predictor of one component, built from the component's parameters on first use, and its lifecycle."""

    def __init__(self, parameters: ClusterModelParameters, new_predictor: Callable[..., P]) -> None:
        """
        Hold the component's parameters; nothing is built here.

        :param parameters: The component; its parameters are read when the predictor is built, not here.
        :param new_predictor: Builds the predictor from the keyword arguments of `BatchedPredictor` (the
            component adds its own, such as `batch_size` or `content_type`, with `functools.partial`).
        """
        self.predictor: P | None = None
        """None until the first use."""
        self._parameters = parameters
        self._new_predictor = new_predictor

    def get(self) -> P:
        """The predictor, built on first use (no client is built here)."""
        if self.predictor is None:
            p = self._parameters
            self.predictor = self._new_predictor(
                hosts=p.hosts,
                model_id=p.model_id,
                http_auth=p.http_auth,
                verify_certs=p.verify_certs,
                ca_certs=p.ca_certs,
                timeout=p.timeout,
                retry=RetryPolicy(max_attempts=p.max_retries + 1, deadline=p.retry_deadline),
            )
        return self.predictor

    def warm_up(self) -> None:
        """Build the blocking client (resolving credentials); calling it again does nothing."""
        self.get().connect()

    async def warm_up_async(self) -> None:
        """Build the async client on the running event loop; calling it again does nothing."""
        self.get().connect_async()

    def close(self) -> None:
        """Release the blocking client; the async one is untouched."""
        if self.predictor is not None:
            self.predictor.close()

    async def close_async(self) -> None:
        """Release the async client; the blocking one is untouched."""
        if self.predictor is not None:
            await self.predictor.close_async()

    def meta(self) -> dict[str, Any]:
        """The `meta` of a component's output: the cluster's name of the model, and its id."""
        return {"model": self.get().model_name, "model_id": self._parameters.model_id}

    def embed_documents(
        self, prepared: PreparedDocuments, run: DocumentRun, check: Callable[[P], None] | None = None
    ) -> dict[str, Any]:
        """
        The `run` of a document embedder: every text of `prepared` in batches, then the documents with the results.

        :param check: Checks of the model document, once it was read (before the first predict).
        :returns: `documents` and `meta`, see `document_output`.
        """
        self.warm_up()
        try:
            self.get().read_model_name()
        except MLCommonsError as error:
            _name_unknown(run, error)
        if check is not None:
            check(self.get())
        with _progress(run, len(prepared.texts)) as bar:
            outcomes = self.get().embed_batches(prepared.texts, progress=bar.update)
        return document_output(prepared, outcomes, run, self.meta())

    async def embed_documents_async(
        self, prepared: PreparedDocuments, run: DocumentRun, check: Callable[[P], None] | None = None
    ) -> dict[str, Any]:
        """Async twin of `embed_documents`, with at most the predictor's `max_concurrency` requests in flight."""
        await self.warm_up_async()
        try:
            await self.get().read_model_name_async()
        except MLCommonsError as error:
            _name_unknown(run, error)
        if check is not None:
            check(self.get())
        with _progress(run, len(prepared.texts)) as bar:
            outcomes = await self.get().embed_batches_async(prepared.texts, progress=bar.update)
        return document_output(prepared, outcomes, run, self.meta())


def refuse_second_prefix(embedder: OpenSearchMLEmbedder, user_prefix: str) -> None:
    """An asymmetric model puts its own prefix before each text in the cluster; a `prefix=` would be a second."""
    if embedder.prefixes and user_prefix:
        registered = embedder.prefixes.get(f"{embedder.content_type}_prefix", "")
        raise ValueError(
            f"Model {embedder.model_id} is asymmetric: the cluster puts its registered prefix {registered!r} before "
            f"each {embedder.content_type} itself, so prefix={user_prefix!r} would be a second one. Leave prefix out."
        )


def document_output(
    prepared: PreparedDocuments, outcomes: list[BatchOutcome[Any]], run: DocumentRun, meta: dict[str, Any]
) -> dict[str, Any]:
    """
    The output of a document embedder: new documents with the predictor's results, and `meta` with the counts.

    A document without content comes back unchanged; with `raise_on_failure=False` a document whose batch failed
    (after retries) comes back without an embedding, logged with its batch. Both are counted in `meta`; no document
    is ever dropped.

    :param prepared: The checked input.
    :param outcomes: The predictor's batches.
    :param run: How the results become documents.
    :param meta: The component's `meta`.
    :returns: `documents` and `meta`.
    """
    documents = prepared.documents
    embeddings: dict[int, Any] = {}
    failed = 0
    for outcome in outcomes:
        positions = prepared.positions[outcome.start : outcome.stop]
        if outcome.error is not None:
            if run.raise_on_failure:
                raise outcome.error
            failed += len(positions)
            ids = ", ".join(documents[i].id for i in positions[:5])
            logger.warning("%s: a batch of %d documents failed (%s): %s", run.owner, len(positions), ids, outcome.error)
            continue
        assert outcome.vectors is not None  # a batch holds either vectors or an error
        for i, result in zip(positions, outcome.vectors, strict=True):
            embeddings[i] = run.value(documents[i], result)
    return prepared.output(embeddings, meta, field=run.field, failed=failed)


def _name_unknown(run: DocumentRun, error: MLCommonsError) -> None:
    """
    Raise `error`, or without `raise_on_failure` log it and go on.

    A cluster that cannot even name the model still gets every document back (the batches fail and are counted);
    `meta["model"]` stays None.
    """
    if run.raise_on_failure:
        raise error
    logger.warning("%s: could not read the model's name: %s", run.owner, error)


def _progress(run: DocumentRun, total: int) -> tqdm[Any]:
    return tqdm(total=total, desc=run.description, unit="doc", disable=not run.progress_bar)
