"""
The threads that scan the mapped vector file (k-NN scoring, checksum checks) and write its appends.

Numpy and xxhash release the GIL in their loops, and a scan saturates memory bandwidth with a few cores; a write and
its sync release it too.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_WORKERS = max(1, min(4, os.cpu_count() or 1))
_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def scan_pool() -> ThreadPoolExecutor:
    """One pool per process: a pool inherited through ``fork`` has no threads behind it."""
    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="sqlite-scan")
        return pool
