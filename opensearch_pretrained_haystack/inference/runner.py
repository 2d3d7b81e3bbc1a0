"""
What every local ONNX model of this package shares: leases on the loaded model and length-sorted runs on a pool.

ML Commons runs one input per inference. Here inputs are sorted by token count and padded per run, several
single-threaded runs at once (onnxruntime releases the GIL; whole runs parallelize better than the operators
inside one small run); padding is masked out, so the results are the cluster's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import numpy as np
from tokenizers import Encoding

from opensearch_pretrained_haystack.artifacts import Lease
from opensearch_pretrained_haystack.inference.tokenizer import TokenIds

Tokens = TokenIds | Encoding
"""One input as a runner reads it: ``ids`` and ``type_ids``."""

# Measured on 2 cores: runs of about 512 tokens (4 texts of 128) give the most texts per second; larger
# runs lose to cache misses and padding, smaller ones to per-run overhead.
BATCH_TOKENS = 512

T = TypeVar("T")
"""What the model's tokenizer lease holds."""
TokensT = TypeVar("TokensT", bound=Tokens)


def available_cpus() -> int:
    """CPUs this process may use: its affinity where the OS has one (Linux), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    counter = getattr(os, "process_cpu_count", None) or os.cpu_count  # process_cpu_count: Python >= 3.13
    return counter() or 1


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Positions grouped into runs of similar length: little padding, and results go back to input order."""
    batch: list[int] = []
    for position in sorted(range(len(lengths)), key=lengths.__getitem__):
        # Sorted ascending, so the newcomer is the longest: the run's padded size is count * its length.
        if batch and (len(batch) == batch_size or (len(batch) + 1) * lengths[position] > BATCH_TOKENS):
            yield batch
            batch = []
        batch.append(position)
    if batch:
        yield batch


def padded_inputs(encodings: Sequence[Tokens], names: Sequence[str]) -> dict[str, np.ndarray]:
    """
    One run's int64 inputs, padded with zeros to its longest encoding.

    Any of ``input_ids``, ``attention_mask`` (1 on real tokens) and ``token_type_ids`` (the encodings' own).
    """
    width = max(len(e.ids) for e in encodings)
    feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in names}
    for row, encoding in enumerate(encodings):
        length = len(encoding.ids)
        if "input_ids" in feeds:
            feeds["input_ids"][row, :length] = encoding.ids
        if "attention_mask" in feeds:
            feeds["attention_mask"][row, :length] = 1
        if "token_type_ids" in feeds:
            feeds["token_type_ids"][row, :length] = encoding.type_ids
    return feeds


class OnnxRunner(Generic[T]):
    """
    Holds a model's shared ONNX session and tokenizer and runs length-sorted batches on this model's own pool.

    Both are leases on the process's cache of loaded artifacts; ``close`` stops the pool and gives both leases back.
    """

    name: str

    def _hold(
        self,
        session: Callable[[], Lease[Any]],
        tokenizer: Callable[[], Lease[T]],
        *,
        concurrent_runs: int | None,
        thread_name_prefix: str,
    ) -> None:
        """Take the leases (none is kept if the second fails); the pool starts at the first run."""
        self.concurrent_runs = concurrent_runs or available_cpus()
        self._thread_name_prefix = thread_name_prefix
        self._executor: ThreadPoolExecutor | None = None
        self._session_lease = session()
        try:
            self._tokenizer_lease = tokenizer()
        except BaseException:
            self._session_lease.release()
            raise
        self._session = self._session_lease.value

    def close(self) -> None:
        """Stop the worker threads and give back this model's share of the loaded artifact (idempotent)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._session_lease.release()
        self._tokenizer_lease.release()

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._session_lease.released

    def _run_batches(
        self,
        encodings: Sequence[TokensT],
        batch_size: int,
        run: Callable[[list[TokensT]], np.ndarray],
        result: np.ndarray,
        on_batch: Callable[[int], object] | None,
    ) -> np.ndarray:
        """
        ``run`` each length-sorted batch of encodings on the pool and write its rows into ``result``.

        Rows go to the batch's input positions; ``on_batch`` is told how many inputs each finished run held (for
        progress bars).
        """
        if not encodings:
            return result
        batches = list(length_sorted_batches([len(e.ids) for e in encodings], max(1, batch_size)))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.concurrent_runs, thread_name_prefix=self._thread_name_prefix)
        runs = self._executor.map(lambda batch: run([encodings[i] for i in batch]), batches)
        for batch, rows in zip(batches, runs, strict=True):
            result[batch] = rows
            if on_batch is not None:
                on_batch(len(batch))
        return result

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"This {type(self).__name__} of {self.name} was closed; create a new one to run again.")
