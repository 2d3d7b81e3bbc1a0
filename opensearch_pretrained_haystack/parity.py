"""
Prove that two embedders agree: e.g. local ONNX for indexing and the cluster's model for queries.

If they disagree (another artifact version, truncation or pooling), k-NN search quietly returns worse
results; `verify_parity` turns that into numbers a user can check on their own cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError

DEFAULT_TOLERANCE = 1e-5
"""Largest difference per component, relative to the vector's norm (at least 1), that still counts as equal."""


class ParityError(OpenSearchPretrainedError, ValueError):
    """The two embedders cannot be compared at all (vectors of different sizes: different models)."""


class Embedder(Protocol):
    """Anything with `embed(texts) -> (n, dim) array`: `LocalOnnxEmbedder`, `OpenSearchMLEmbedder`."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """
        Embed ``texts``.

        :param texts: The texts.
        :returns: One row per text.
        """
        ...


@dataclass(frozen=True)
class ParityReport:
    """How far two embedders' vectors are apart over `n_texts` texts."""

    n_texts: int
    max_abs_diff: float
    min_cosine: float
    worst_text: str
    """The text with the largest absolute difference, to look at when parity fails."""
    max_relative_diff: float
    """The largest difference per text over that text's vector norm (at least 1): the same as `max_abs_diff` for
    normalized models, and a fair bar for unnormalized ones whose components reach tens."""

    def passed(self, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        """Whether the vectors agree within `tolerance` (relative to each vector's norm) in every component."""
        return self.max_relative_diff <= tolerance


DEFAULT_TEXTS: tuple[str, ...] = (
    "OpenSearch is a community-driven, open source search and analytics suite.",
    "What is the capital of France?",
    "A man is playing a guitar on stage.",
    "Die Katze schläft auf dem Sofa.",
    "東京は日本の首都です。",
    "Ça va? Très bien, merci — et toi?",
    "",
    "k-NN search with HNSW graphs trades a little recall for a lot of speed. " * 40,
)
"""Short, non-ASCII, empty and over-long (past 512 tokens, so truncated) texts: where embedders drift apart."""


def verify_parity(local: Embedder, remote: Embedder, texts: list[str] | None = None) -> ParityReport:
    """Embed `texts` (default: `DEFAULT_TEXTS`) with both embedders and compare the vectors."""
    texts = list(texts if texts is not None else DEFAULT_TEXTS)
    if not texts:
        msg = "verify_parity needs at least one text."
        raise ValueError(msg)
    a = np.asarray(local.embed(texts), dtype=np.float64)
    b = np.asarray(remote.embed(texts), dtype=np.float64)
    if a.shape != b.shape:
        msg = f"The embedders disagree on shape: {a.shape} vs {b.shape}; they are not the same model."
        raise ParityError(msg)
    diff = np.abs(a - b).max(axis=1)
    norm_a = np.linalg.norm(a, axis=1)
    norms = norm_a * np.linalg.norm(b, axis=1)
    cosine = np.where(norms > 0, (a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0), 1.0)
    worst = int(diff.argmax())
    relative = diff / np.maximum(norm_a, 1.0)
    return ParityReport(len(texts), float(diff.max()), float(cosine.min()), texts[worst], float(relative.max()))


class SparseEncoder(Protocol):
    """
    Anything with `encode(texts) -> [{token: weight}]`.

    `LocalSparseEncoder`, `SparseTokenizer`, `OpenSearchMLSparseEncoder`.
    """

    def encode(self, texts: list[str]) -> list[dict[str, float]]:
        """
        Encode ``texts``.

        :param texts: The texts.
        :returns: One ``{token: weight}`` map per text.
        """
        ...


@dataclass(frozen=True)
class SparseParityReport:
    """How far two sparse encoders' `{token: weight}` maps are apart over `n_texts` texts."""

    n_texts: int
    texts_with_other_tokens: int
    """Texts whose maps hold different token sets: a hit list would differ, whatever the weights."""
    max_abs_diff: float
    """The largest weight difference over the tokens both maps hold."""
    worst_text: str

    def passed(self, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        """Whether every text has the same tokens and every weight agrees within `tolerance`."""
        return self.texts_with_other_tokens == 0 and self.max_abs_diff <= tolerance


def verify_sparse_parity(
    local: SparseEncoder, remote: SparseEncoder, texts: list[str] | None = None
) -> SparseParityReport:
    """Encode `texts` (default: `DEFAULT_TEXTS`) with both encoders and compare the maps token by token."""
    texts = list(texts if texts is not None else DEFAULT_TEXTS)
    if not texts:
        msg = "verify_sparse_parity needs at least one text."
        raise ValueError(msg)
    pairs = list(zip(local.encode(texts), remote.encode(texts), strict=True))
    differences = [max((abs(a[t] - b[t]) for t in a.keys() & b.keys()), default=0.0) for a, b in pairs]
    other = [position for position, (a, b) in enumerate(pairs) if a.keys() != b.keys()]
    # The worst text: the first whose tokens differ, else the one with the largest weight difference.
    worst = other[0] if other else max(range(len(texts)), key=differences.__getitem__)
    return SparseParityReport(len(texts), len(other), max(differences), texts[worst])
