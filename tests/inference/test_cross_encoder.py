import json

import numpy as np
import pytest

from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference.cross_encoder import LocalOnnxCrossEncoder
from tests.conftest import TESTING

TINY = TESTING / "tiny-cross-encoder"
PAIRS = [(p["query"], p["passage"]) for p in json.loads((TINY / "pairs.json").read_text("utf-8"))]
REFERENCES = np.load(TINY / "references.npz")


@pytest.fixture(scope="module")
def encoder() -> LocalOnnxCrossEncoder:
    return LocalOnnxCrossEncoder(str(TINY / "onnx"), progress_bar=False)


@pytest.mark.parametrize("batch_size", [1, 32])
@pytest.mark.parametrize("reference", ["node_onnx", "torch"])
def test_matches_the_nodes_and_torchs_logits_on_all_40_pairs(encoder, batch_size, reference):
    logits = encoder.score_pairs(PAIRS, batch_size=batch_size)
    assert logits.dtype == np.float32 and logits.shape == (40,)
    assert np.abs(logits - REFERENCES[reference]).max() <= 1e-5


def test_token_counts_are_the_clusters_pair_encoding_truncated_at_512(encoder):
    assert encoder.max_tokens == 512
    counts = [encoder.count_tokens(query, passage) for query, passage in PAIRS]
    assert counts == REFERENCES["token_counts"].tolist()
    assert max(counts) == 512  # the long-vs-long pairs are cut, both sides (LongestFirst)


def test_the_alternatives_the_node_rules_out_are_clearly_different(encoder):
    """Query first, types 0/1 and LongestFirst are what make the scores equal; the reference alternatives are not."""
    logits = encoder.score_pairs(PAIRS)
    for alternative in ("alt/token_type_ids_zero", "alt/passage_first"):
        assert np.abs(logits - REFERENCES[alternative]).max() > 0.5


def test_score_is_one_query_against_many_texts_in_input_order(encoder):
    query = PAIRS[3][0]
    texts = [passage for _, passage in PAIRS]
    expected = encoder.score_pairs([(query, text) for text in texts], batch_size=1)
    assert np.abs(encoder.score(query, texts) - expected).max() <= 1e-6
    assert encoder.score(query, []).shape == (0,)


def test_non_string_pairs_are_refused_with_their_position(encoder):
    with pytest.raises(TypeError, match="Pair 1"):
        encoder.score_pairs([("q", "d"), ("q", None)])  # type: ignore[list-item]


def test_an_embedding_model_is_refused_with_what_to_use_instead():
    with pytest.raises(ModelInputError, match=r"TEXT_EMBEDDING model.*LocalOnnxEmbedder"):
        LocalOnnxCrossEncoder(str(TESTING / "tiny-roberta-mean"), progress_bar=False)


def test_a_torch_script_artifact_is_refused():
    with pytest.raises(ModelInputError, match="TORCH_SCRIPT artifact"):
        LocalOnnxCrossEncoder(str(TINY / "torch_script"), progress_bar=False)
