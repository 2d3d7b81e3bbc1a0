"""Prove that two embedders agree: e.g. local ONNX for indexing and the cluster's model for queries.

If they disagree (another artifact version, truncation or pooling), k-NN search quietly returns worse
results; `verify_parity` turns that into numbers a user can check on their own cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Anything with `embed(texts) -> (n, dim) array`: `LocalOnnxEmbedder`, `OpenSearchMLEmbedder`."""

    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ParityReport:
    """How far two embedders' vectors are apart over `n_texts` texts."""

    n_texts: int
    max_abs_diff: float
    min_cosine: float
    worst_text: str
    """The text with the largest absolute difference, to look at when parity fails."""

    def passed(self, max_abs_diff: float = 1e-5) -> bool:
        """Whether the vectors agree within `max_abs_diff` in every component."""
        return self.max_abs_diff <= max_abs_diff


DEFAULT_TEXTS: tuple[str, ...] = (
    "OpenSearch is a community-driven, open source search and analytics suite.",
    "What is the capital of France?",
    "A man is playing a guitar on stage.",
    "Die Katze schläft auf dem Sofa.",
    "東京は日本の首都です。",
    "Ça va? Très bien, merci — et toi?",
    "",
    "k-NN search with HNSW graphs trades a little recall for a lot of speed. " * 30,
)
"""Short, non-ASCII, empty and over-long (truncated) texts: the cases where embedders tend to drift apart."""


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
        raise ValueError(msg)
    diff = np.abs(a - b).max(axis=1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cosine = np.where(norms > 0, (a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0), 1.0)
    worst = int(diff.argmax())
    return ParityReport(len(texts), float(diff.max()), float(cosine.min()), texts[worst])
