"""
What every component that runs a model deployed in ML Commons shares.

Parameters, lifecycle, serialization, `meta`, and for the document embedders (dense and sparse) the whole of `run`.

Lifecycle as in Haystack 3 remote embedders: `__init__` only stores parameters; `warm_up` /
`warm_up_async` build the sync / async opensearch-py client (resolving Secrets there, never in
`__init__`); `close` / `close_async` release them independently; `run` warms up lazily.

`meta["model"]` is the model's name as the cluster reports it (read once, at the first run), as the local
embedders report their catalog name; `meta["model_id"]` is the cluster's id of the deployed model.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Generic, TypeVar

from haystack import Document
from tqdm import tqdm

from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchedPredictor, BatchOutcome, OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.cluster.serialization import (
    HttpAuthSerialization,
)
from opensearch_pretrained_haystack.text_preparation import (
    PreparedDocuments,
    prepare_documents,
)

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=BatchedPredictor[Any])
"""The predictor a component builds: `OpenSearchMLEmbedder` (dense) or `OpenSearchMLSparseEncoder`."""


class RemoteModelComponent(HttpAuthSerialization, Generic[P]):
    """Holds connection and retry parameters and the predictor built from them (see `_new_backend`)."""

    def __init__(
        self,
        *,
        hosts: str | list[str],
        model_id: str,
        http_auth: HttpAuth,
        verify_certs: bool,
        ca_certs: str | None,
        timeout: float,
        batch_size: int,
        max_concurrency: int,
        max_retries: int,
        retry_deadline: float,
        redeploy: bool = False,
    ) -> None:
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
        self.redeploy = redeploy
        self._embedder: P | None = None

    def _new_backend(self, settings: dict[str, Any]) -> P:
        """The predictor, from the connection, batching and retry `settings` of `BatchedPredictor`."""
        raise NotImplementedError

    def _backend(self) -> P:
        if self._embedder is None:
            self._embedder = self._new_backend(
                {
                    "hosts": self.hosts,
                    "model_id": self.model_id,
                    "http_auth": self.http_auth,
                    "verify_certs": self.verify_certs,
                    "ca_certs": self.ca_certs,
                    "timeout": self.timeout,
                    "batch_size": self.batch_size,
                    "max_concurrency": self.max_concurrency,
                    "retry": RetryPolicy(max_attempts=self.max_retries + 1, deadline=self.retry_deadline),
                    "redeploy": self.redeploy,
                }
            )
        return self._embedder

    def warm_up(self) -> None:
        """Build the blocking client (resolving credentials); calling it again does nothing."""
        self._backend().connect()

    async def warm_up_async(self) -> None:
        """Build the async client on the running event loop; calling it again does nothing."""
        self._backend().connect_async()

    def close(self) -> None:
        """Release the blocking client; the async one is untouched."""
        if self._embedder is not None:
            self._embedder.close()

    async def close_async(self) -> None:
        """Release the async client; the blocking one is untouched."""
        if self._embedder is not None:
            await self._embedder.close_async()

    def _meta(self) -> dict[str, Any]:
        return {"model": self._backend().model_name, "model_id": self.model_id}

    def _check_model(self) -> None:
        """Checks of the model document, once it was read (before the first predict); none by default."""


class OpenSearchMLComponent(RemoteModelComponent[OpenSearchMLEmbedder]):
    """A component of a dense text-embedding model (the embedders, and the ranker's TEXT_SIMILARITY calls)."""

    content_type: ClassVar[str | None] = None
    """What the texts are to an asymmetric model: "query" (text embedder) or "passage" (document embedder)."""

    def _new_backend(self, settings: dict[str, Any]) -> OpenSearchMLEmbedder:
        return OpenSearchMLEmbedder(**settings, content_type=self.content_type)

    def _check_model(self) -> None:
        """An asymmetric model puts its own prefix before each text in the cluster; a `prefix=` would be a second."""
        prefixes = self._backend().prefixes
        user_prefix = str(getattr(self, "prefix", ""))
        if prefixes and user_prefix:
            registered = prefixes.get(f"{self.content_type}_prefix", "")
            raise ValueError(
                f"Model {self.model_id} is asymmetric: the cluster puts its registered prefix {registered!r} before "
                f"each {self.content_type} itself, so prefix={user_prefix!r} would be a second one. Leave prefix out."
            )


class RemoteDocumentEmbedding(RemoteModelComponent[P]):
    """
    `run` and `run_async` of a document embedder: text preparation, batches in the cluster, and the failure policy.

    A document without content comes back unchanged; with `raise_on_failure=False` a document whose batch failed (after
    retries) comes back without an embedding, logged with its batch. Both are counted in `meta`; no document is ever
    dropped. What differs is what one text's result becomes (`_embedding`).
    """

    field: ClassVar[str] = "embedding"
    """The Document field the embedding goes into."""
    text_embedder: ClassVar[str]
    """The sibling that takes a string, named when the input is not a list of Documents."""
    progress_description: ClassVar[str] = "Embedding documents"

    prefix: str
    suffix: str
    meta_fields_to_embed: list[str]
    embedding_separator: str
    raise_on_failure: bool
    progress_bar: bool

    def _embedding(self, document: Document, result: Any) -> Any:
        """What the predictor gave for `document`'s text, as the value of `field`."""
        raise NotImplementedError

    def _embed_documents(self, documents: list[Document]) -> dict[str, Any]:
        prepared = prepare_documents(self, self.text_embedder, documents)
        self.warm_up()
        try:
            self._backend().read_model_name()
        except MLCommonsError as error:
            self._name_unknown(error)
        self._check_model()
        with self._progress(len(prepared.texts)) as bar:
            outcomes = self._backend().embed_batches(prepared.texts, progress=bar.update)
        return self._output(prepared, outcomes)

    async def _embed_documents_async(self, documents: list[Document]) -> dict[str, Any]:
        prepared = prepare_documents(self, self.text_embedder, documents)
        await self.warm_up_async()
        try:
            await self._backend().read_model_name_async()
        except MLCommonsError as error:
            self._name_unknown(error)
        self._check_model()
        with self._progress(len(prepared.texts)) as bar:
            outcomes = await self._backend().embed_batches_async(prepared.texts, progress=bar.update)
        return self._output(prepared, outcomes)

    def _name_unknown(self, error: MLCommonsError) -> None:
        """
        Without `raise_on_failure`, a cluster that cannot even name the model still gets every document back.

        The batches fail and are counted; `meta["model"]` stays None.
        """
        if self.raise_on_failure:
            raise error
        logger.warning("%s: could not read the model's name: %s", type(self).__name__, error)

    def _progress(self, total: int) -> tqdm[Any]:
        return tqdm(total=total, desc=self.progress_description, unit="doc", disable=not self.progress_bar)

    def _output(self, prepared: PreparedDocuments, outcomes: list[BatchOutcome[Any]]) -> dict[str, Any]:
        documents = prepared.documents
        embeddings: dict[int, Any] = {}
        failed = 0
        for outcome in outcomes:
            positions = prepared.positions[outcome.start : outcome.stop]
            if outcome.error is not None:
                if self.raise_on_failure:
                    raise outcome.error
                failed += len(positions)
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
            for i, result in zip(positions, outcome.vectors, strict=True):
                embeddings[i] = self._embedding(documents[i], result)
        return prepared.output(embeddings, self._meta(), field=self.field, failed=failed)
