"""The settings of ``index --engine ray``, importable without Ray (the CLI and ``index_sources`` take them)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from opensearch_pretrained_haystack.errors import MissingExtraError, OpenSearchPretrainedError

__all__ = ["ENGINES", "RAY_MISSING", "MissingExtraError", "RayOptions", "RayUnreachableError"]

ENGINES = ("local", "ray")
RAY_MISSING = "--engine ray needs Ray Data: pip install 'opensearch-pretrained-haystack[ray]'"
# Seconds to wait for a Ray address to accept a connection (ray.init itself retries for many minutes).
RAY_CONNECT_TIMEOUT = 5.0


class RayUnreachableError(OpenSearchPretrainedError):
    """Nothing accepts connections at the Ray address given."""


@dataclass(frozen=True)
class RayOptions:
    """
    Where and how wide the Ray job runs.

    ``address``: None starts a local Ray for the job (or uses the one ``ray.init`` already started in this process);
    ``"auto"`` joins the cluster this machine belongs to; ``"ray://host:10001"`` connects a client. ``workers``:
    embedding actors, each holding one model session (default: the cluster's CPUs divided by ``threads_per_worker``;
    reading and splitting run in the same actors). ``threads_per_worker``: CPUs per actor, and the inference runs it
    does at once (no oversubscription). ``write_concurrency``: bulk-writing tasks at once (bounds the load on the
    cluster). ``block_retries``: how often a block that raised is run again.
    """

    address: str | None = None
    workers: int | None = None
    threads_per_worker: int = 1
    write_concurrency: int = 2
    block_retries: int = 3

    def __post_init__(self) -> None:
        for name in ("workers", "threads_per_worker", "write_concurrency"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} {value}: give 1 or more.")
        if self.block_retries < 0:
            raise ValueError(f"block_retries {self.block_retries}: give 0 or more.")

    def check_address(self) -> None:
        """
        Fail in seconds, in one line, when nothing listens at ``address``.

        ``address`` is ``host:port`` or ``ray://host:port``; ``auto`` and ``local`` are Ray's to find.
        """
        if self.address is None or self.address in ("auto", "local"):
            return
        host, _, port = self.address.removeprefix("ray://").rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_TIMEOUT):
                pass
        except (OSError, ValueError) as error:
            reason = "not host:port" if isinstance(error, ValueError) else error.strerror or type(error).__name__
            raise RayUnreachableError(
                f"--ray-address {self.address}: no Ray there ({reason}). Start one with `ray start --head` and give "
                "the address it prints, or leave --ray-address out to start a local Ray."
            ) from None
