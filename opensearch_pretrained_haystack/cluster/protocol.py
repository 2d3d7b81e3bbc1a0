"""
The I/O-free core shared by the sync and async clients.

Every ML Commons operation (register, poll a task, deploy, predict with retries) is written once,
as a generator that yields the steps it needs — an HTTP `Call` or a `Sleep` — and receives each
call's parsed JSON response. Two small drivers execute those steps: `run_sync` with
`OpenSearch.transport` and `time.sleep`, `run_async` with `AsyncOpenSearch.transport` and
`asyncio.sleep`. opensearch-py errors are mapped to typed errors and thrown *into* the
generator, so an operation can catch e.g. a 404 or a retryable error where it makes sense.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from opensearchpy import AsyncTransport, Transport
from opensearchpy.exceptions import SerializationError, TransportError

from opensearch_pretrained_haystack.cluster.errors import from_transport_error

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One REST call; `body` may be a dict (sent as JSON) or raw bytes (chunk uploads)."""

    method: str
    path: str
    body: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    @property
    def what(self) -> str:
        """Short description used in error messages."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Sleep:
    """Wait before the next step (task polling, retry backoff)."""

    seconds: float


Step = Call | Sleep
Operation = Generator[Step, Any, T]


class _Driver(Generic[T]):
    """Feeds responses (or mapped errors) back into an operation and exposes its next step."""

    result: T  # set when the operation returns, i.e. once `step` is None

    def __init__(self, operation: Operation[T]) -> None:
        self._operation = operation
        self.step: Step | None = None
        self._advance(lambda: next(operation))

    def resume(self, response: Any) -> None:
        """Hand the response of the current step to the operation."""
        self._advance(lambda: self._operation.send(response))

    def fail(self, exc: TransportError | SerializationError) -> None:
        """Throw the typed form of an opensearch-py error into the operation."""
        assert isinstance(self.step, Call)
        error = from_transport_error(exc, what=self.step.what)
        self._advance(lambda: self._operation.throw(error))

    def _advance(self, move: Callable[[], Step]) -> None:
        try:
            self.step = move()
        except StopIteration as done:
            self.step, self.result = None, done.value


def _request_kwargs(call: Call) -> dict[str, Any]:
    return {"params": call.params or None, "body": call.body, "timeout": call.timeout}


def run_sync(transport: Transport | None, operation: Operation[T]) -> T:
    """Drive `operation` with blocking I/O; an operation that only sleeps needs no `transport`."""
    driver = _Driver(operation)
    while (step := driver.step) is not None:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            driver.resume(None)
            continue
        assert transport is not None, f"{step.what} needs a transport"
        try:
            response = transport.perform_request(step.method, step.path, **_request_kwargs(step))
        except (TransportError, SerializationError) as exc:  # a 200 with a non-JSON body is a SerializationError
            driver.fail(exc)
        else:
            driver.resume(response)
    return driver.result


async def run_async(transport: AsyncTransport, operation: Operation[T]) -> T:
    """Drive `operation` on the event loop."""
    driver = _Driver(operation)
    while (step := driver.step) is not None:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            driver.resume(None)
            continue
        try:
            response = await transport.perform_request(step.method, step.path, **_request_kwargs(step))
        except (TransportError, SerializationError) as exc:  # a 200 with a non-JSON body is a SerializationError
            driver.fail(exc)
        else:
            driver.resume(response)
    return driver.result


def poll_intervals(initial: float = 0.2, factor: float = 1.6, maximum: float = 5.0) -> Iterator[float]:
    """Growing waits between task polls: fast for quick tasks, gentle on the cluster for slow ones."""
    interval = initial
    while True:
        yield interval
        interval = min(interval * factor, maximum)


class Deadline:
    """A point in monotonic time that operations must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        """Whether no time is left."""
        return self.remaining() <= 0.0
