"""
Exact k-NN over the mapped vector copy: every vector is scored, so the top k equal brute force.

A query reads every vector once, so it is bound by memory bandwidth. Blocks are scored on a few worker threads
(numpy releases the GIL in its loops) and each block keeps only its best rows, so the float64 scoring and the
selection run in parallel too. The dot products use numpy's own row-by-row kernel (``vecdot``) rather than one
BLAS ``gemv``: BLAS would start its own threads inside each worker's call, and on a busy machine those threads
cost more than the scan itself (measured: 150 ms against 10 ms for 100k vectors on the 2-core dev box).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from haystack_integrations.document_stores.opensearch_pretrained import scoring
from haystack_integrations.document_stores.opensearch_pretrained.scan_pool import scan_pool
from haystack_integrations.document_stores.opensearch_pretrained.vector_cache import VectorCache

# 16k x 384 float32 is 24 MiB of the mapped file; each block's float64 temporaries stay in the CPU's caches.
BLOCK_ROWS = 16384


def nearest(
    cache: VectorCache,
    query: npt.NDArray[np.float32],
    *,
    space_type: str,
    top_k: int,
    allowed: npt.NDArray[np.int64] | None = None,
) -> list[tuple[int, float]]:
    """
    The ``top_k`` best (row key, k-NN score), best first, ties by key (order of writing).

    ``allowed`` (sorted row keys) restricts the search to those rows.
    """
    query_squared_norm = float(np.dot(query.astype(np.float64), query.astype(np.float64)))

    def block(start: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        rows = slice(start, start + BLOCK_ROWS)
        dots = _dots(cache.vectors[rows], query).astype(np.float64)
        scores = scoring.knn_scores(space_type, dots, np.asarray(cache.squared_norms[rows]), query_squared_norm)
        keys = np.asarray(cache.keys[rows])
        dead = cache.dead[np.searchsorted(cache.dead, start) : np.searchsorted(cache.dead, start + BLOCK_ROWS)]
        scores[dead - start] = -np.inf  # deleted, or replaced by a row further on
        if allowed is not None:
            scores[~np.isin(keys, allowed, assume_unique=True)] = -np.inf
        best = _best(scores, top_k)
        return keys[best], scores[best]

    starts = range(0, len(cache.keys), BLOCK_ROWS)
    parts = [block(start) for start in starts] if len(starts) <= 1 else list(scan_pool().map(block, starts))
    if not parts:
        return []
    keys = np.concatenate([part[0] for part in parts])
    scores = np.concatenate([part[1] for part in parts])
    best = _best(scores, top_k)
    keys, scores = keys[best], scores[best]
    order = np.lexsort((keys, -scores))[:top_k]  # best first; ties by order of writing
    return [(int(keys[i]), float(scores[i])) for i in order]


def _best(scores: npt.NDArray[np.float64], top_k: int) -> npt.NDArray[np.intp]:
    """
    Indices of the finite scores at least as good as the ``top_k``-th best.

    All ties are kept, so the final order by key is the same whichever block a tie falls in.
    """
    finite = np.isfinite(scores)
    if len(scores) > top_k:
        kth = np.partition(scores, len(scores) - top_k)[len(scores) - top_k]
        finite &= scores >= kth
    return np.flatnonzero(finite)


def _dots(vectors: npt.NDArray[np.float32], query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    # numpy >= 2.0 has vecdot; on numpy 1.26 einsum is also numpy's own kernel, a little slower.
    dots: npt.NDArray[np.float32] = (
        np.vecdot(vectors, query) if hasattr(np, "vecdot") else np.einsum("ij,j->i", vectors, query)
    )
    return dots
