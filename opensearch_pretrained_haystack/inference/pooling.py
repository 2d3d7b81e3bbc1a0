"""
ML Commons' pooling modes and normalization, in numpy.

Each function mirrors ``ONNXSentenceTransformerTextEmbeddingTranslator`` (ml-commons) for a padded batch:
``token_embeddings`` is ``[batch, tokens, hidden]`` and ``attention_mask`` is ``[batch, tokens]`` with zeros on
padding, so padding never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Floats: TypeAlias = npt.NDArray[np.float32]
Mask: TypeAlias = npt.NDArray[np.int64]
Pooling: TypeAlias = Callable[[Floats, Mask], Floats]


def _mean(token_embeddings: Floats, attention_mask: Mask, *, sqrt: bool = False) -> Floats:
    mask = attention_mask[..., None].astype(np.float32)
    summed = (token_embeddings * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, 1e12)
    pooled: Floats = summed / (np.sqrt(counts) if sqrt else counts)
    return pooled


def mean(token_embeddings: Floats, attention_mask: Mask) -> Floats:
    """
    ML Commons' MEAN pooling: the average of the unmasked tokens.

    :param token_embeddings: ``[batch, tokens, hidden]``.
    :param attention_mask: ``[batch, tokens]``.
    :returns: ``[batch, hidden]``.
    """
    return _mean(token_embeddings, attention_mask)


def mean_sqrt_len(token_embeddings: Floats, attention_mask: Mask) -> Floats:
    """
    ML Commons' MEAN_SQRT_LEN pooling: the sum of the unmasked tokens over the square root of their count.

    :param token_embeddings: ``[batch, tokens, hidden]``.
    :param attention_mask: ``[batch, tokens]``.
    :returns: ``[batch, hidden]``.
    """
    return _mean(token_embeddings, attention_mask, sqrt=True)


def max_(token_embeddings: Floats, attention_mask: Mask) -> Floats:
    """
    ML Commons' MAX pooling: the maximum over the unmasked tokens.

    :param token_embeddings: ``[batch, tokens, hidden]``.
    :param attention_mask: ``[batch, tokens]``.
    :returns: ``[batch, hidden]``.
    """
    masked = np.where(attention_mask[..., None] == 0, np.float32(-1e9), token_embeddings)
    pooled: Floats = masked.max(axis=1)
    return pooled


def weighted_mean(token_embeddings: Floats, attention_mask: Mask) -> Floats:
    """
    ML Commons' WEIGHTED_MEAN pooling: the unmasked tokens averaged with weights 1, 2, 3, ... by position.

    :param token_embeddings: ``[batch, tokens, hidden]``.
    :param attention_mask: ``[batch, tokens]``.
    :returns: ``[batch, hidden]``.
    """
    positions = np.arange(1, token_embeddings.shape[1] + 1, dtype=np.float32)
    weights = (attention_mask.astype(np.float32) * positions)[..., None]
    pooled: Floats = (token_embeddings * weights).sum(axis=1) / weights.sum(axis=1)
    return pooled


def cls(token_embeddings: Floats, attention_mask: Mask) -> Floats:
    """
    ML Commons' CLS pooling: the first token.

    :param token_embeddings: ``[batch, tokens, hidden]``.
    :param attention_mask: ``[batch, tokens]`` (unused).
    :returns: ``[batch, hidden]``.
    """
    return token_embeddings[:, 0]


def last_token(token_embeddings: Floats, attention_mask: Mask) -> Floats:
    """
    ML Commons' LAST_TOKEN pooling: the last unmasked token.

    :param token_embeddings: ``[batch, tokens, hidden]``.
    :param attention_mask: ``[batch, tokens]``.
    :returns: ``[batch, hidden]``.
    """
    last = attention_mask.sum(axis=1).astype(np.int64) - 1
    pooled: Floats = token_embeddings[np.arange(token_embeddings.shape[0]), last]
    return pooled


def none(token_embeddings: Floats, attention_mask: Mask) -> Floats:
    """
    ML Commons' NONE pooling: the graph's output is already one vector per text.

    :param token_embeddings: ``[batch, hidden]``.
    :param attention_mask: ``[batch, tokens]`` (unused).
    :returns: ``token_embeddings`` unchanged.
    :raises ValueError: The output is not one vector per text.
    """
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


def l2_normalize(vectors: Floats) -> Floats:
    """Unit length per row, as DJL's ``normalize(2, 0)`` (norms clamped at 1e-12)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: Floats = vectors / np.maximum(norms, np.float32(1e-12))
    return normalized
