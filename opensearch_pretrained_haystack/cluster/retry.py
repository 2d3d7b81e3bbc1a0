"""
Retries with exponential backoff, jitter and an overall deadline, for any operation.

opensearch-py retries 502/503/504 a fixed number of times and never 429; ML Commons throttles
with 429 and trips breakers under load. `with_retries` wraps an operation (see `protocol.py`)
and retries it while its error is `retryable`, sleeping `policy.backoff(attempt)` in between,
and never starts a wait that would end past the deadline. Each retry is one log line (INFO), never a
traceback. `call_with_retries` applies the same policy to a blocking call that is not an operation
(opensearch-haystack's store methods), mapping its opensearch-py errors the same way.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from opensearchpy.exceptions import SerializationError, TransportError

from opensearch_pretrained_haystack.cluster.errors import MLCommonsError, OperationTimeoutError, from_transport_error
from opensearch_pretrained_haystack.cluster.protocol import Deadline, Operation, Sleep, T, run_sync

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry retryable errors (429, 502–504, connection errors)."""

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.5
    """Fraction of each wait that is randomized, so concurrent clients do not retry in lockstep."""
    deadline: float = 300.0
    """Seconds an operation may take in total, retries and waits included."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt number `attempt` (1-based): exponential, capped, jittered down."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return ceiling * (1.0 - self.jitter * self.rng.random())


def with_retries(
    make_operation: Callable[[Deadline], Operation[T]],
    policy: RetryPolicy,
    *,
    what: str,
    deadline: Deadline | None = None,
) -> Operation[T]:
    """
    Run `make_operation(deadline)` until it succeeds, fails for good, or runs out of attempts or time.

    The operation gets the deadline so that it can cap its per-request timeout by the time left. Pass a
    shared `deadline` to bound several operations together (e.g. all batches of one `embed` call).
    """
    deadline = deadline or Deadline(policy.deadline)
    attempt = 1
    while True:
        if deadline.expired():
            msg = f"{what}: the {deadline.seconds:g} s deadline passed before attempt {attempt} could start."
            raise OperationTimeoutError(msg)
        try:
            return (yield from make_operation(deadline))
        except MLCommonsError as error:
            if not error.retryable:
                raise
            wait = policy.backoff(attempt)
            if attempt >= policy.max_attempts:
                error.add_note(f"{what}: gave up after {attempt} attempts.")
                raise
            if wait >= deadline.remaining():
                msg = f"{what}: no success within the {deadline.seconds:g} s deadline after {attempt} attempts: {error}"
                raise OperationTimeoutError(msg, status=error.status, reason=error.reason) from error
            logger.info("%s (attempt %d of %d); retrying in %.1f s", error, attempt, policy.max_attempts, wait)
            yield Sleep(wait)
            attempt += 1


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    classify: Callable[[Exception], MLCommonsError | None] | None = None,
) -> T:
    """
    Run the blocking `call` under `policy`.

    Opensearch-py errors are mapped by `from_transport_error`; `classify` may map other exceptions (e.g.
    opensearch-haystack's `DocumentStoreError`) or return None to let them through unchanged.
    """

    def attempt(_: Deadline) -> Operation[T]:
        try:
            return call()
        except (TransportError, SerializationError) as error:
            raise from_transport_error(error, what=what) from error
        except Exception as error:
            mapped = classify(error) if classify else None
            if mapped is None:
                raise
            raise mapped from error
        yield  # unreachable: makes this function an operation (a generator) that only ever sleeps between tries

    return run_sync(None, with_retries(attempt, policy, what=what))
