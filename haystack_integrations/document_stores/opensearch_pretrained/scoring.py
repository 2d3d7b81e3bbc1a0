"""
Scores as OpenSearch reports them, so a local prototype ranks and thresholds like the cluster.

k-NN (knn-spaces): l2 ``1/(1+d²)`` with d the Euclidean distance; cosinesimil ``(1+cos)/2``; innerproduct
``dot+1`` for a non-negative dot product and ``1/(1-dot)`` below zero.

Hybrid (neural-search ``processor/normalization`` and ``processor/combination`` at 3.6.0.0), each step in float32
as the plugin computes it, over the sub-queries' results (key, score), each best first:
- ``min_max`` (2.10+): a sub-query's scores to ``(score - min) / (max - min)``, 0 → 0.001, a lone hit 1; its
  ``lower_bounds`` (3.0+, PR #1195) replace ``min`` per sub-query (``apply``, ``clip``, ``ignore``);
- ``z_score`` (3.0+, PR #1224): ``(score - mean) / std`` (sample standard deviation), at most 0 → 0.001;
- both combined by ``arithmetic_mean``: ``Σ wᵢ·sᵢ / Σ wᵢ`` over every sub-query, 0 where one did not find the
  document (``ScoreCombiner`` leaves it 0, although its comment says -1; both nodes score so);
- ``rrf`` (2.19+, the score-ranker-processor): ``Σ 1/(rank_constant + rank)`` with ranks from 1;
- ``min_score`` (3.5+, PR #1726): fused scores below it are dropped.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

SPACE_TYPES = ("l2", "cosinesimil", "innerproduct")
FUSIONS = ("min_max", "z_score", "rrf")
BOUND_MODES = ("apply", "clip", "ignore")
DEFAULT_RANK_CONSTANT = 60
# Hybrid defaults chosen by nDCG@10 on SciFact's train split (README, "defaults by measurement"), english BM25 with
# titles: min-max at BM25 weight 0.45 over passages 0.742 (rrf 0.731, z-score at 0.45 0.743, dense alone 0.692).
# Passages, not source documents (+0.004 with z-score): the cluster's hybrid query fuses passages, and the store
# fuses as the cluster does; min-max, not z-score, since 2.x clusters have only min-max.
DEFAULT_FUSION: Final = "min_max"
DEFAULT_BM25_WEIGHT = 0.45
DEFAULT_PER_SOURCE = False
_MIN_SCORE = np.float32(0.001)
_SINGLE_RESULT_SCORE = np.float32(1.0)
_BOUND_LIMIT = 10_000.0
_MISSING = np.float32(0.0)  # a sub-query that did not find the document: 0, and its weight still counts

Floats = npt.NDArray[np.float64]
Key = TypeVar("Key", bound=Hashable)
Ranked = Sequence[Sequence[tuple[Key, float]]]


@dataclass(frozen=True)
class LowerBound:
    """
    A floor for one sub-query's min-max normalization (neural-search 3.0+, ``lower_bounds``).

    ``mode="apply"``: scores above ``min_score`` normalize from ``min_score`` instead of the sub-query's lowest
    score (if its best score is above it too); ``"clip"``: scores below ``min_score`` become 0.001 and the rest
    normalize from ``min_score`` (unless the best score is below it); ``"ignore"``: no bound.
    """

    mode: str = "apply"
    min_score: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in BOUND_MODES:
            raise ValueError(f"Lower bound mode {self.mode!r} is not one of {', '.join(BOUND_MODES)}.")
        if not -_BOUND_LIMIT <= self.min_score <= _BOUND_LIMIT:
            raise ValueError(f"Lower bound min_score {self.min_score!r} must lie between -10000 and 10000.")

    def to_json(self) -> dict[str, str | float]:
        """The entry of the normalization-processor's ``lower_bounds`` list."""
        return {"mode": self.mode, "min_score": self.min_score}

    def effective_min(self, score: np.float32, low: np.float32, high: np.float32) -> np.float32:
        """The minimum this score normalizes from (``LowerBound.determineEffectiveScore``)."""
        bound = np.float32(self.min_score)
        if self.mode == "apply":
            return bound if high > bound and score > bound else low
        if self.mode == "clip":
            return low if high < bound else bound
        return low


def knn_scores(space_type: str, dots: Floats, squared_norms: Floats, query_squared_norm: float) -> Floats:
    """k-NN's score of each vector, from its dot product with the query and its squared norm."""
    if space_type == "l2":
        squared_distance = np.maximum(squared_norms - 2.0 * dots + query_squared_norm, 0.0)
        return 1.0 / (1.0 + squared_distance)
    if space_type == "cosinesimil":
        norms = np.sqrt(squared_norms * query_squared_norm)
        cosine = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
        return (1.0 + cosine) / 2.0
    if space_type == "innerproduct":
        return np.where(dots >= 0, dots + 1.0, 1.0 / (1.0 - np.minimum(dots, 0.0)))
    raise ValueError(f"Unknown k-NN space type {space_type!r}; use one of {', '.join(SPACE_TYPES)}.")


def check_fusion(fusion: str, lower_bounds: Sequence[dict[str, Any]] | None = None) -> list[LowerBound] | None:
    """
    Check a fusion's name and parse its lower bounds, as every hybrid search here takes them.

    :param fusion: ``min_max``, ``z_score`` or ``rrf``.
    :param lower_bounds: ``{"mode": ..., "min_score": ...}`` per sub-query, ``min_max`` only.
    :returns: The parsed bounds, or None.
    :raises ValueError: For an unknown fusion, a bad bound, or bounds with another fusion than ``min_max``.
    """
    if fusion not in FUSIONS:
        raise ValueError(f"Unknown fusion {fusion!r}; use one of {', '.join(FUSIONS)}.")
    if lower_bounds is None:
        return None
    if fusion != "min_max":
        raise ValueError(f"lower_bounds take min_max fusion, not {fusion}.")
    return [LowerBound(**bound) for bound in lower_bounds]


def fuse(
    ranked: Ranked[Key],
    fusion: str,
    *,
    weights: Sequence[float] | None = None,
    rank_constant: int = DEFAULT_RANK_CONSTANT,
    lower_bounds: Sequence[LowerBound] | None = None,
    min_score: float | None = None,
) -> list[tuple[Key, float]]:
    """
    The sub-queries' results fused as the hybrid search pipeline of ``fusion`` would, best first.

    :param ranked: Per sub-query, its results (key, score), best first.
    :param fusion: ``min_max``, ``z_score`` or ``rrf``.
    :param weights: One per sub-query (``min_max``, ``z_score``); default equal weights.
    :param rank_constant: ``rrf``'s k.
    :param lower_bounds: ``min_max`` only: one per sub-query.
    :param min_score: Drop fused scores below it (the search request's ``min_score``).
    :returns: (key, fused score), best first.
    :raises ValueError: For an unknown fusion, or an option the fusion does not take.
    """
    check_fusion(fusion)
    if lower_bounds is not None and fusion != "min_max":
        raise ValueError(f"lower_bounds take min_max fusion, not {fusion}.")
    if fusion == "rrf":
        fused = reciprocal_rank_fusion(ranked, rank_constant=rank_constant)
    else:
        weights = [1.0] * len(ranked) if weights is None else weights
        if fusion == "z_score":
            fused = z_score_fusion(ranked, weights)
        else:
            fused = min_max_fusion(ranked, weights, lower_bounds=lower_bounds)
    if min_score is None:
        return fused
    if not np.isfinite(min_score):
        raise ValueError(f"min_score must be a finite number, not {min_score!r}.")
    return [(key, score) for key, score in fused if score >= np.float32(min_score)]


def min_max_fusion(
    ranked: Ranked[Key], weights: Sequence[float], *, lower_bounds: Sequence[LowerBound] | None = None
) -> list[tuple[Key, float]]:
    """OpenSearch's min-max normalization (with optional lower bounds) and weighted arithmetic mean."""
    if lower_bounds is not None and len(lower_bounds) != len(ranked):
        raise ValueError(f"Give one lower bound per sub-query ({len(ranked)}), not {len(lower_bounds)}.")
    normalized: list[list[tuple[Key, np.float32]]] = []
    for index, results in enumerate(ranked):
        bound = LowerBound(mode="ignore") if lower_bounds is None else lower_bounds[index]
        scores = np.asarray([score for _, score in results], dtype=np.float32)
        low = scores.min(initial=np.finfo(np.float32).max)
        high = scores.max(initial=np.finfo(np.float32).smallest_subnormal)  # the plugin starts at Float.MIN_VALUE
        normalized.append(
            [(key, _min_max(score, low, high, bound)) for (key, _), score in zip(results, scores, strict=True)]
        )
    return _arithmetic_mean(normalized, weights)


def _min_max(score: np.float32, low: np.float32, high: np.float32, bound: LowerBound) -> np.float32:
    """``MinMaxScoreNormalizationTechnique.normalizeSingleScore`` without upper bounds."""
    if high == low == score:
        return _SINGLE_RESULT_SCORE
    effective_low = bound.effective_min(score, low, high)
    if bound.mode == "clip" and score < effective_low:
        return _MIN_SCORE
    if high == effective_low:
        return _SINGLE_RESULT_SCORE
    value = np.float32((score - effective_low) / (high - effective_low))
    return _MIN_SCORE if value == 0 else value


def z_score_fusion(ranked: Ranked[Key], weights: Sequence[float]) -> list[tuple[Key, float]]:
    """OpenSearch's z-score normalization and weighted arithmetic mean (the only combination it allows)."""
    normalized: list[list[tuple[Key, np.float32]]] = []
    for results in ranked:
        scores = np.asarray([score for _, score in results], dtype=np.float32)
        if not len(scores):
            normalized.append([])
            continue
        mean, std = _mean_and_sample_std([float(score) for score in scores])
        low, high = scores.min(), scores.max()
        normalized.append(
            [(key, _z_score(score, mean, std, low, high)) for (key, _), score in zip(results, scores, strict=True)]
        )
    return _arithmetic_mean(normalized, weights)


def _mean_and_sample_std(values: list[float]) -> tuple[np.float32, np.float32]:
    """Commons Math's ``DescriptiveStatistics`` mean and standard deviation (two-pass, n - 1), cast to float32."""
    count = len(values)
    mean = sum(values) / count
    mean += sum(value - mean for value in values) / count
    if count == 1:
        return np.float32(mean), np.float32(0.0)
    deviations = [value - mean for value in values]
    squares, total = sum(d * d for d in deviations), sum(deviations)
    variance = (squares - total * total / count) / (count - 1)
    return np.float32(mean), np.float32(np.sqrt(variance))


def _z_score(score: np.float32, mean: np.float32, std: np.float32, low: np.float32, high: np.float32) -> np.float32:
    """``ZScoreNormalizationTechnique.normalizeSingleScore``: its edge cases return the raw max or min score."""
    if mean == score:
        return high
    if std == 0:
        return low
    value = np.float32((score - mean) / std)
    return _MIN_SCORE if value <= 0 else value


def _arithmetic_mean(
    normalized: Sequence[Sequence[tuple[Key, np.float32]]], weights: Sequence[float]
) -> list[tuple[Key, float]]:
    """``ArithmeticMeanScoreCombinationTechnique``: Σ wᵢ·sᵢ / Σ wᵢ, a sub-query that missed the document scoring 0."""
    if len(normalized) != len(weights):
        raise ValueError("Give one weight per sub-query.")
    per_key: dict[Key, list[np.float32]] = {}
    for index, results in enumerate(normalized):
        for key, score in results:
            per_key.setdefault(key, [_MISSING] * len(normalized))[index] = score
    weights32 = [np.float32(weight) for weight in weights]
    fused = []
    for key, scores in per_key.items():
        total, weight_sum = np.float32(0.0), np.float32(0.0)
        for score, weight in zip(scores, weights32, strict=True):
            if score >= 0:
                total = np.float32(total + np.float32(score * weight))
                weight_sum = np.float32(weight_sum + weight)
        fused.append((key, float(total / weight_sum) if weight_sum else 0.0))
    return sorted(fused, key=lambda item: -item[1])


def reciprocal_rank_fusion(
    ranked: Ranked[Key], *, rank_constant: int = DEFAULT_RANK_CONSTANT
) -> list[tuple[Key, float]]:
    """OpenSearch's score-ranker-processor (RRF) over sub-query results (key, score), each best first."""
    if rank_constant < 1:
        raise ValueError("rank_constant must be at least 1.")
    totals: dict[Key, float] = {}
    for results in ranked:
        for rank, (key, _) in enumerate(results, start=1):
            totals[key] = totals.get(key, 0.0) + 1.0 / (rank_constant + rank)
    return sorted(totals.items(), key=lambda item: -item[1])
