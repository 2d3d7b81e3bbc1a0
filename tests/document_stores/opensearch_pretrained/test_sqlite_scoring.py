"""Fusion as OpenSearch's neural-search processors compute it."""

import pytest

from haystack_integrations.document_stores.opensearch_pretrained.scoring import min_max_fusion, reciprocal_rank_fusion


def test_min_max_arithmetic_mean_over_the_sub_queries_that_found_a_document():
    bm25 = [(1, 10.0), (2, 6.0), (3, 2.0)]
    dense = [(2, 0.9), (4, 0.5)]
    fused = dict(min_max_fusion([bm25, dense], [0.3, 0.7]))
    assert fused[1] == pytest.approx(1.0)  # only BM25 found it: the mean over the weights present
    assert fused[2] == pytest.approx((0.3 * 0.5 + 0.7 * 1.0) / 1.0)
    assert fused[3] == pytest.approx(0.001)  # a sub-query's lowest score normalizes to 0.001, not 0
    assert fused[4] == pytest.approx(0.001)


def test_min_max_single_result_scores_one():
    assert min_max_fusion([[(7, 3.2)], []], [0.5, 0.5]) == [(7, 1.0)]


def test_reciprocal_rank_fusion_with_rank_constant_60():
    fused = dict(reciprocal_rank_fusion([[(1, 9.0), (2, 8.0)], [(2, 0.9), (3, 0.1)]]))
    assert fused == pytest.approx({1: 1 / 61, 2: 1 / 62 + 1 / 61, 3: 1 / 62})
