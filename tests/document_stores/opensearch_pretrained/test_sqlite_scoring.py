"""Fusion as OpenSearch's neural-search processors compute it."""

import pytest

from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    LowerBound,
    fuse,
    min_max_fusion,
    reciprocal_rank_fusion,
)


def test_min_max_arithmetic_mean_counts_a_sub_query_that_missed_the_document_as_0():
    bm25 = [(1, 10.0), (2, 6.0), (3, 2.0)]
    dense = [(2, 0.9), (4, 0.5)]
    fused = dict(min_max_fusion([bm25, dense], [0.3, 0.7]))
    assert fused[1] == pytest.approx(0.3)  # only BM25 found it: 0.3 · 1 + 0.7 · 0 (as both nodes score it)
    assert fused[2] == pytest.approx((0.3 * 0.5 + 0.7 * 1.0) / 1.0)
    assert fused[3] == pytest.approx(0.3 * 0.001)  # a sub-query's lowest score normalizes to 0.001, not 0
    assert fused[4] == pytest.approx(0.7 * 0.001)


def test_min_max_single_result_scores_one():
    assert min_max_fusion([[(7, 3.2)], []], [0.5, 0.5]) == [(7, 0.5)]


def test_reciprocal_rank_fusion_with_rank_constant_60():
    fused = dict(reciprocal_rank_fusion([[(1, 9.0), (2, 8.0)], [(2, 0.9), (3, 0.1)]]))
    assert fused == pytest.approx({1: 1 / 61, 2: 1 / 62 + 1 / 61, 3: 1 / 62})


# --- OpenSearch 3.x hybrid options (issue 21); on the node in tests/indices/test_hybrid_options.py -----------------


def test_z_score_uses_the_sample_standard_deviation_and_floors_at_0_001():
    bm25 = [(1, 4.0), (2, 2.0), (3, 0.0)]  # mean 2, sample std 2
    fused = dict(fuse([bm25, []], "z_score", weights=[1.0, 0.0]))
    assert fused == pytest.approx({1: 1.0, 2: 4.0, 3: 0.001})  # mean == score returns the sub-query's max (4.0)


def test_z_score_of_a_lone_hit_and_of_equal_scores():
    assert fuse([[(1, 3.0)], [(1, 0.5)]], "z_score") == [(1, pytest.approx(1.75))]  # each its own max
    assert dict(fuse([[(1, 2.0), (2, 2.0)], []], "z_score")) == {1: 1.0, 2: 1.0}  # 2.0 each, halved


def test_min_max_lower_bound_modes():
    bm25 = [(1, 10.0), (2, 6.0), (3, 2.0)]
    ignore = LowerBound(mode="ignore")
    apply = dict(fuse([bm25, []], "min_max", weights=[1.0, 0.0], lower_bounds=[LowerBound("apply", 4.0), ignore]))
    assert apply == pytest.approx({1: 1.0, 2: (6 - 4) / (10 - 4), 3: 0.001})  # 3 is below the bound: its own min
    clip = dict(fuse([bm25, []], "min_max", weights=[1.0, 0.0], lower_bounds=[LowerBound("clip", 4.0), ignore]))
    assert clip == pytest.approx({1: 1.0, 2: (6 - 4) / (10 - 4), 3: 0.001})
    bounds = [LowerBound("apply", 1.0), ignore]
    low = dict(fuse([[(1, 10.0), (2, 6.0), (3, 5.0)], []], "min_max", weights=[1.0, 0.0], lower_bounds=bounds))
    assert low == pytest.approx({1: 1.0, 2: 5 / 9, 3: 4 / 9})  # the bound below every score widens the range


def test_min_score_drops_fused_scores_below_it_and_bad_options_are_refused():
    fused = fuse([[(1, 10.0), (2, 6.0), (3, 2.0)], []], "min_max", weights=[1.0, 0.0], min_score=0.5)
    assert [key for key, _ in fused] == [1, 2]
    with pytest.raises(ValueError, match="min_max"):
        fuse([[], []], "rrf", lower_bounds=[LowerBound(), LowerBound()])
    with pytest.raises(ValueError, match="finite"):
        fuse([[], []], "rrf", min_score=float("nan"))
    with pytest.raises(ValueError, match="apply, clip, ignore"):
        LowerBound(mode="floor")
    with pytest.raises(ValueError, match="10000"):
        LowerBound(min_score=1e6)
