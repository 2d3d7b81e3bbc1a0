"""
`OpenSearchMLEmbedder`: embeddings computed by a model deployed in ML Commons.

Texts are sent in batches of `batch_size` (one predict call each), at most `max_concurrency` calls
at a time (threads for `embed`, a semaphore for `embed_async`). Each call is retried on 429, 502–504
and connection errors with exponential backoff and jitter (`RetryPolicy`); all calls of one
`embed` share one deadline, and each request has its own timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, cast

import numpy as np
from opensearchpy import AsyncOpenSearch, AsyncTransport, OpenSearch

from opensearch_pretrained_haystack.cluster import operations as ops
from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings, HttpAuth
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.lifecycle import is_deployed, require_deployed_or_redeploy
from opensearch_pretrained_haystack.cluster.ml_commons import MLCommonsClient
from opensearch_pretrained_haystack.cluster.protocol import Deadline, Operation, run_async, run_sync
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy, with_retries

ProgressCallback: TypeAlias = Callable[[int], object]
"""Called with the number of texts of each finished batch (for progress bars, e.g. `tqdm.update`); its result is
ignored."""
R = TypeVar("R")
"""What one predict call gives for its batch: a float32 matrix, or `{token: weight}` maps for sparse models."""
BatchPredict = Callable[[list[str], float], Operation[R]]
"""One predict call for a batch of texts with its request timeout, one result per text. The default is the
predictor's own `_predict_call`; a reranker passes the TEXT_SIMILARITY call of its query."""


@dataclass(frozen=True)
class BatchOutcome(Generic[R]):
    """The result of one predict batch: texts `start:stop`, with vectors or the error that stopped them."""

    start: int
    stop: int
    vectors: R | None
    error: MLCommonsError | None


class BatchedPredictor(Generic[R]):
    """Batches, concurrency, retries and per-batch failures around one predict call, `_predict_call`."""

    def __init__(
        self,
        hosts: str | list[str],
        model_id: str,
        *,
        http_auth: HttpAuth = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 60.0,
        batch_size: int = 32,
        max_concurrency: int = 2,
        retry: RetryPolicy | None = None,
        redeploy: bool = False,
    ) -> None:
        if batch_size < 1 or max_concurrency < 1:
            msg = f"batch_size ({batch_size}) and max_concurrency ({max_concurrency}) must be at least 1."
            raise ValueError(msg)
        self.settings = ConnectionSettings(hosts, http_auth, verify_certs, ca_certs, timeout)
        self.model_name: str | None = None
        """The name the cluster reports for `model_id`, once `read_model_name` ran."""
        self.model_config: dict[str, Any] = {}
        """The model's `model_config` as the cluster holds it, once `read_model_name` ran."""
        self.model_id = model_id
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.retry = retry or RetryPolicy()
        self.redeploy = redeploy
        """Deploy the model again (and wait) if it is found not deployed; else that is one line of error."""
        self._client: OpenSearch | None = None
        self._async_client: AsyncOpenSearch | None = None

    def connect(self) -> OpenSearch:
        """Create the blocking client once (resolves secrets); retries are ours, so opensearch-py's are off."""
        if self._client is None:
            self._client = self.settings.sync_client(max_retries=0, pool_maxsize=max(10, self.max_concurrency))
        return self._client

    def connect_async(self) -> AsyncOpenSearch:
        """Create the async client once; call it on the event loop that will use it."""
        if self._async_client is None:
            self._async_client = self.settings.async_client(max_retries=0)
        return self._async_client

    def _async_transport(self) -> AsyncTransport:
        # AsyncOpenSearch builds an AsyncTransport, but opensearch-py annotates `transport` with its base class.
        return cast(AsyncTransport, self.connect_async().transport)

    def read_model_name(self) -> str:
        """
        The model's name as the cluster reports it, read once and retried like a predict call.

        For example `huggingface/sentence-transformers/all-MiniLM-L6-v2`.
        """
        if self.model_name is None:
            self._read(self._deployed(run_sync(self.connect().transport, self._get_model())))
        assert self.model_name is not None
        return self.model_name

    async def read_model_name_async(self) -> str:
        """Async twin of `read_model_name`."""
        if self.model_name is None:
            model = await run_async(self._async_transport(), self._get_model())
            self._read(model if is_deployed(model) else await asyncio.to_thread(self._deployed, model))
        assert self.model_name is not None
        return self.model_name

    def _deployed(self, model: dict[str, Any]) -> dict[str, Any]:
        """`model` if deployed; else redeployed (``redeploy``, with the blocking client) or refused in one line."""
        if is_deployed(model):
            return model
        return require_deployed_or_redeploy(MLCommonsClient(self.connect()), model, redeploy=self.redeploy)

    def _read(self, model: dict[str, Any]) -> None:
        self.model_config = dict(model.get("model_config") or {})
        self.model_name = str(model["name"])

    @property
    def prefixes(self) -> dict[str, str]:
        """The registered `query_prefix`/`passage_prefix` of an asymmetric model (empty: a symmetric one)."""
        return {key: self.model_config[key] for key in ("query_prefix", "passage_prefix") if self.model_config.get(key)}

    def _get_model(self) -> Operation[dict[str, Any]]:
        return with_retries(lambda _: ops.get_model(self.model_id), self.retry, what=f"Reading model {self.model_id}")

    def close(self) -> None:
        """Release the blocking client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close_async(self) -> None:
        """Release the async client."""
        if self._async_client is not None:
            await self._async_client.close()
            self._async_client = None

    def embed_batches(
        self, texts: Sequence[str], progress: ProgressCallback | None = None, *, predict: BatchPredict[R] | None = None
    ) -> list[BatchOutcome[R]]:
        """Embed every batch, keeping failures per batch instead of raising (for `raise_on_failure=False`)."""
        transport = self.connect().transport
        deadline = Deadline(self.retry.deadline)

        def one(bounds: tuple[int, int]) -> BatchOutcome[R]:
            outcome = _outcome(bounds, lambda: run_sync(transport, self._predict(texts, bounds, deadline, predict)))
            if progress:
                progress(bounds[1] - bounds[0])
            return outcome

        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            return list(pool.map(one, self._bounds(len(texts))))

    async def embed_batches_async(
        self, texts: Sequence[str], progress: ProgressCallback | None = None, *, predict: BatchPredict[R] | None = None
    ) -> list[BatchOutcome[R]]:
        """Async twin of `embed_batches`, with at most `max_concurrency` predict calls in flight."""
        transport = self._async_transport()
        deadline = Deadline(self.retry.deadline)
        slots = asyncio.Semaphore(self.max_concurrency)

        async def one(bounds: tuple[int, int]) -> BatchOutcome[R]:
            async with slots:
                try:
                    vectors = await run_async(transport, self._predict(texts, bounds, deadline, predict))
                    outcome = BatchOutcome(*bounds, vectors, None)
                except MLCommonsError as error:
                    outcome = BatchOutcome(*bounds, None, error)
            if progress:
                progress(bounds[1] - bounds[0])
            return outcome

        return list(await asyncio.gather(*(one(bounds) for bounds in self._bounds(len(texts)))))

    def _bounds(self, count: int) -> list[tuple[int, int]]:
        return [(start, min(start + self.batch_size, count)) for start in range(0, count, self.batch_size)]

    def _predict(
        self, texts: Sequence[str], bounds: tuple[int, int], deadline: Deadline, predict: BatchPredict[R] | None
    ) -> Operation[R]:
        batch = [_checked_text(texts, i) for i in range(*bounds)]
        call = predict or self._predict_call
        return with_retries(
            lambda left: call(batch, min(self.settings.timeout, left.remaining())),
            self.retry,
            what=f"predict with model {self.model_id} (texts {bounds[0]}-{bounds[1] - 1})",
            deadline=deadline,
        )

    def _predict_call(self, batch: list[str], timeout: float) -> Operation[R]:
        raise NotImplementedError


class OpenSearchMLEmbedder(BatchedPredictor[np.ndarray]):
    """
    Embeds texts with an ML Commons text-embedding model, by its `model_id`.

    `content_type` ("query" or "passage") is sent to an asymmetric model (one registered with `query_prefix` /
    `passage_prefix`), which then puts that prefix before each text; a symmetric model gets no content type (ML
    Commons refuses one). The model is read once, before the first predict, to tell which it is.

    Usage example:
    ```python
    embedder = OpenSearchMLEmbedder("http://localhost:9200", model_id)
    vectors = embedder.embed(["OpenSearch is a search engine."])  # float32, shape (1, dim)
    ```
    """

    def __init__(self, *args: Any, content_type: str | None = None, **kwargs: Any) -> None:
        if content_type not in (None, "query", "passage"):
            raise ValueError(f"content_type must be 'query' or 'passage', not {content_type!r}.")
        BatchedPredictor.__init__(self, *args, **kwargs)
        self.content_type = content_type

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 `(len(texts), dim)`; raises the first batch's error if any batch failed."""
        if self.content_type is not None:
            self.read_model_name()
        return _concatenate(self.embed_batches(texts))

    async def embed_async(self, texts: Sequence[str]) -> np.ndarray:
        """Async twin of `embed`."""
        if self.content_type is not None:
            await self.read_model_name_async()
        return _concatenate(await self.embed_batches_async(texts))

    def _predict_call(self, batch: list[str], timeout: float) -> Operation[np.ndarray]:
        content_type = self.content_type if self.prefixes else None
        return ops.predict(self.model_id, batch, timeout=timeout, content_type=content_type)


def _checked_text(texts: Sequence[str], index: int) -> str:
    text = texts[index]
    if not isinstance(text, str):
        msg = f"Text {index} is {type(text).__name__}, not str: OpenSearchMLEmbedder embeds strings only."
        raise TypeError(msg)
    return text


def _outcome(bounds: tuple[int, int], call: Callable[[], R]) -> BatchOutcome[R]:
    try:
        return BatchOutcome(*bounds, call(), None)
    except MLCommonsError as error:
        return BatchOutcome(*bounds, None, error)


def _concatenate(outcomes: list[BatchOutcome[np.ndarray]]) -> np.ndarray:
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    if not outcomes:
        return np.empty((0, 0), dtype=np.float32)
    return np.concatenate([outcome.vectors for outcome in outcomes if outcome.vectors is not None])
