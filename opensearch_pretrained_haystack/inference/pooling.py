"""ML Commons' pooling modes and normalization, in numpy.

Each function mirrors ``ONNXSentenceTransformerTextEmbeddingTranslator`` (ml-commons) for a padded batch:
``token_embeddings`` is ``[batch, tokens, hidden]`` and ``attention_mask`` is ``[batch, tokens]`` with zeros on
padding, so padding never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Pooling = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _mean(token_embeddings: np.ndarray, attention_mask: np.ndarray, *, sqrt: bool = False) -> np.ndarray:
    mask = attention_mask[..., None].astype(np.float32)
    summed = (token_embeddings * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, 1e12)
    return summed / (np.sqrt(counts) if sqrt else counts)


def mean(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    return _mean(token_embeddings, attention_mask)


def mean_sqrt_len(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    return _mean(token_embeddings, attention_mask, sqrt=True)


def max_(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    masked = np.where(attention_mask[..., None] == 0, np.float32(-1e9), token_embeddings)
    return masked.max(axis=1)


def weighted_mean(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    positions = np.arange(1, token_embeddings.shape[1] + 1, dtype=np.float32)
    weights = (attention_mask.astype(np.float32) * positions)[..., None]
    return (token_embeddings * weights).sum(axis=1) / weights.sum(axis=1)


def cls(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    return token_embeddings[:, 0]


def last_token(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    last = attention_mask.sum(axis=1).astype(np.int64) - 1
    return token_embeddings[np.arange(token_embeddings.shape[0]), last]


def none(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    if token_embeddings.ndim != 2:
        raise ValueError(
            "pooling_mode NONE needs a graph whose selected output is already one vector per text "
            f"([batch, hidden]); this one gives shape {list(token_embeddings.shape)}. Use MEAN or CLS instead."
        )
    return token_embeddings


POOLING_MODES: dict[str, Pooling] = {
    "MEAN": mean,
    "MEAN_SQRT_LEN": mean_sqrt_len,
    "MAX": max_,
    "WEIGHTED_MEAN": weighted_mean,
    "CLS": cls,
    "LAST_TOKEN": last_token,
    "NONE": none,
}


def pooling_for(mode: str | None) -> Pooling:
    """The pooling function for a ``config.json`` ``pooling_mode``; ML Commons treats a missing mode as MEAN."""
    name = (mode or "MEAN").upper()
    if name not in POOLING_MODES:
        raise ValueError(f"Unknown pooling_mode {mode!r}: ML Commons knows {', '.join(POOLING_MODES)}.")
    return POOLING_MODES[name]


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit length per row, as DJL's ``normalize(2, 0)`` (norms clamped at 1e-12)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))
