"""An exclusive lock between processes (POSIX flock; the node tooling runs on Linux and macOS only)."""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


@contextmanager
def exclusive_lock(lock_file: Path, waiting: str) -> Iterator[None]:
    """
    Hold `lock_file` exclusively; if another process holds it, log `waiting` once and wait for it.

    flock is released by the kernel when the holder dies, so a killed process never leaves the lock behind.
    """
    with lock_file.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("%s", waiting)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
