import json
import shutil

import numpy as np
import pytest

from opensearch_pretrained_haystack.artifacts import load_artifact
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from tests.conftest import REFERENCE, TESTING

TINY_TEXTS = json.loads((TESTING / "texts.json").read_text())
TINY_REFERENCES = np.load(TESTING / "references.npz")
MODES = ["MEAN", "MEAN_SQRT_LEN", "MAX", "WEIGHTED_MEAN", "CLS", "LAST_TOKEN", "NONE"]


@pytest.fixture(scope="module")
def minilm() -> LocalOnnxEmbedder:
    return LocalOnnxEmbedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)


def _assert_float32_equal(actual: np.ndarray, expected: np.ndarray) -> None:
    """1e-5 absolute, or relative for unnormalized vectors whose entries reach tens (sums over 512 tokens)."""
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def _tiny(tmp_path, model: str, **config_changes) -> LocalOnnxEmbedder:
    """A tiny test model whose config.json says what the test wants (pooling mode, normalization, type)."""
    source = TESTING / model
    config = json.loads((source / "config.json").read_text())
    config["model_config"].update(config_changes)
    (tmp_path / "config.json").write_text(json.dumps(config))
    zip_path = next(source.glob("*.zip"))
    return LocalOnnxEmbedder.from_artifact(load_artifact(zip_path, tmp_path / "config.json", cache_dir=tmp_path))


def test_matches_sentence_transformers_at_128_tokens_on_every_reference_text(minilm):
    texts = json.loads((REFERENCE / "texts.json").read_text())
    expected = np.load(REFERENCE / "st_max128.npy")
    vectors = minilm.embed(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
    assert np.abs(vectors - expected).max() <= 1e-5


def test_truncates_at_the_artifacts_128_tokens_not_256(minilm):
    assert minilm.max_tokens == 128
    long_text = "word " * 1000
    assert minilm.count_tokens(long_text) == 128
    np.testing.assert_allclose(minilm.embed([long_text])[0], minilm.embed([long_text + " tail"])[0], atol=1e-6)


def test_batching_and_padding_do_not_change_results(minilm):
    texts = json.loads((REFERENCE / "texts.json").read_text())[:64]
    one_by_one = np.stack([minilm.embed([t])[0] for t in texts])
    for batch_size in (3, 64):
        assert np.abs(minilm.embed(texts, batch_size=batch_size) - one_by_one).max() <= 1e-6


def test_empty_and_whitespace_texts_still_get_the_models_embedding(minilm):
    vectors = minilm.embed(["", "   "])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_non_string_text_is_a_type_error_naming_the_type(minilm):
    with pytest.raises(TypeError, match="int"):
        minilm.embed(["fine", 3])  # type: ignore[list-item]


def test_no_texts_give_an_empty_array(minilm):
    assert minilm.embed([]).shape == (0, 384)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("normalized", [False, True])
def test_every_pooling_mode_matches_the_independent_torch_reference_3_input_bert(tmp_path, mode, normalized):
    embedder = _tiny(tmp_path, "tiny-bert-mean", pooling_mode=mode, normalize_result=normalized)
    expected = TINY_REFERENCES[f"tiny-bert-mean/{mode}" + ("_normalized" if normalized else "")]
    _assert_float32_equal(embedder.embed(TINY_TEXTS, batch_size=8), expected)


@pytest.mark.parametrize("mode", [m for m in MODES if m != "NONE"])
def test_every_pooling_mode_matches_the_reference_2_input_distilbert_at_512_tokens(tmp_path, mode):
    embedder = _tiny(tmp_path, "tiny-distilbert-cls", pooling_mode=mode)
    assert embedder.max_tokens == 512
    _assert_float32_equal(embedder.embed(TINY_TEXTS, batch_size=8), TINY_REFERENCES[f"tiny-distilbert-cls/{mode}"])


def test_token_counts_match_the_reference(tmp_path):
    for model in ("tiny-bert-mean", "tiny-distilbert-cls"):
        embedder = LocalOnnxEmbedder(str(TESTING / model), cache_dir=tmp_path)
        counts = [embedder.count_tokens(text) for text in TINY_TEXTS]
        np.testing.assert_array_equal(counts, TINY_REFERENCES[f"{model}/token_counts"])


def test_graph_inputs_that_the_cluster_would_not_send_are_refused(tmp_path):
    # ML Commons sends token_type_ids only for bert/albert: a 3-input graph labelled distilbert cannot be served.
    with pytest.raises(ModelInputError, match="token_type_ids"):
        _tiny(tmp_path, "tiny-bert-mean", model_type="distilbert")


def test_torchscript_artifacts_are_refused_with_a_clear_error(tmp_path):
    folder = tmp_path / "ts"
    shutil.copytree(TESTING / "tiny-bert-mean", folder)
    config = json.loads((folder / "config.json").read_text())
    config["model_format"] = "TORCH_SCRIPT"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelInputError, match="ONNX artifacts only"):
        LocalOnnxEmbedder(str(folder), cache_dir=tmp_path)
