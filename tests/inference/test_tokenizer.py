import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from opensearch_pretrained_haystack.artifacts import resolve_artifact
from opensearch_pretrained_haystack.inference.tokenizer import ENCODE_CHUNK, load_tokenizer, truncation_length
from tests.conftest import TESTING

TEXTS: list[str] = json.loads((TESTING / "texts.json").read_text())
MODELS = ["tiny-roberta-mean", "tiny-mpnet-cls", "tiny-xlmr-bert-mean", "tiny-bert-mean", "tiny-distilbert-cls"]


def test_truncation_block_wins_and_is_capped_by_model_max_length():
    assert truncation_length({"truncation": {"max_length": 128}}, {}) == 128
    assert truncation_length({"truncation": {"max_length": 1024}}, {}) == 512
    assert truncation_length({"truncation": {"max_length": 128}}, {"model_max_length": 64}) == 64


def test_without_truncation_fixed_padding_then_model_max_length_then_512():
    assert truncation_length({"truncation": None, "padding": {"strategy": {"Fixed": 256}}}, {}) == 256
    assert truncation_length({"truncation": None, "padding": None}, {"model_max_length": 300}) == 300
    assert truncation_length({"truncation": None, "padding": {"strategy": "BatchLongest"}}, {}) == 512


@pytest.mark.parametrize("model", MODELS)
def test_encode_batch_gives_the_truncating_tokenizers_ids(model: str, tmp_path: Path) -> None:
    """The shared untruncated tokenizer, cut per text, feeds the model what the artifact's own truncating
    tokenizer (what DJL runs) would: over more texts than one tokenizing chunk, many longer than the limit."""
    artifact = resolve_artifact(str(TESTING / model), cache_dir=tmp_path)
    model_tokenizer = load_tokenizer(artifact)
    texts = [" ".join(TEXTS[i % len(TEXTS)] for i in range(n % 40 + 1)) for n in range(ENCODE_CHUNK + 37)]
    truncating = Tokenizer.from_file(str(artifact.extract().tokenizer_file))
    truncating.no_padding()
    truncating.enable_truncation(model_tokenizer.max_tokens)
    expected = truncating.encode_batch(texts)
    actual = model_tokenizer.encode_batch(texts)
    assert any(len(e.ids) == model_tokenizer.max_tokens for e in expected)  # the limit is really reached
    assert [t.ids.tolist() for t in actual] == [e.ids for e in expected]
    assert [t.type_ids.tolist() for t in actual] == [e.type_ids for e in expected]
