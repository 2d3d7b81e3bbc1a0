import numpy as np
import pytest

from opensearch_pretrained_haystack.inference import pooling

TOKENS = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)  # [batch, tokens, hidden]
MASK = np.array([[1, 1, 1], [1, 1, 0]])  # the second text is padded by one token


def test_padding_never_counts():
    padded = TOKENS.copy()
    padded[1, 2] = 1e6  # garbage where the mask is zero
    for name, pool in pooling.POOLING_MODES.items():
        if name == "NONE":
            continue
        np.testing.assert_array_equal(pool(padded, MASK)[1], pool(TOKENS, MASK)[1], err_msg=name)


def test_each_mode_on_a_hand_computed_row():
    row = TOKENS[1, :2]  # the two real tokens of text 1: [6, 7] and [8, 9]
    np.testing.assert_allclose(pooling.mean(TOKENS, MASK)[1], row.mean(axis=0))
    np.testing.assert_allclose(pooling.mean_sqrt_len(TOKENS, MASK)[1], row.sum(axis=0) / np.sqrt(2))
    np.testing.assert_allclose(pooling.max_(TOKENS, MASK)[1], row.max(axis=0))
    np.testing.assert_allclose(pooling.weighted_mean(TOKENS, MASK)[1], (1 * row[0] + 2 * row[1]) / 3)
    np.testing.assert_allclose(pooling.cls(TOKENS, MASK)[1], row[0])
    np.testing.assert_allclose(pooling.last_token(TOKENS, MASK)[1], row[1])


def test_none_takes_an_already_pooled_output_and_refuses_token_embeddings():
    pooled = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_array_equal(pooling.none(pooled, MASK), pooled)
    with pytest.raises(ValueError, match="one vector per text"):
        pooling.none(TOKENS, MASK)


def test_missing_mode_is_mean_and_unknown_mode_is_refused():
    assert pooling.pooling_for(None) is pooling.mean
    assert pooling.pooling_for("cls") is pooling.cls
    with pytest.raises(ValueError, match="WEIGHTED_MEAN"):
        pooling.pooling_for("weightedmean")


def test_l2_normalize_gives_unit_rows_and_keeps_zero_rows_finite():
    vectors = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(pooling.l2_normalize(vectors), [[0.6, 0.8], [0.0, 0.0]])
