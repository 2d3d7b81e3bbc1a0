"""SPARSE_TOKENIZE on this machine equals the node's maps (issue 11, item 3)."""

import json
from typing import Any

import pytest
from haystack.dataclasses import SparseEmbedding

from opensearch_pretrained_haystack.errors import ArtifactFormatError, ModelInputError
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseTokenizer
from tests.conftest import TESTING

TOKENIZER_DIR = TESTING / "tiny-sparse-tokenizer"
REFERENCES: dict[str, Any] = json.loads((TOKENIZER_DIR / "references.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def tokenizer() -> SparseTokenizer:
    return SparseTokenizer(str(TOKENIZER_DIR))


def assert_node_maps(ours: list[dict[str, float]], node: list[dict[str, float]]) -> None:
    assert len(ours) == len(node)
    for i, (mine, theirs) in enumerate(zip(ours, node, strict=True)):
        assert mine.keys() == theirs.keys(), (i, set(mine) ^ set(theirs))
        assert all(abs(mine[k] - theirs[k]) <= 1e-6 for k in mine), i


def test_every_shared_text_gives_the_nodes_map(tokenizer: SparseTokenizer) -> None:
    texts = json.loads((TESTING / "texts.json").read_text("utf-8"))
    assert texts == REFERENCES["texts"]
    assert_node_maps(tokenizer.encode(texts), REFERENCES["node"])


def test_the_node_cuts_at_512_tokens_although_tokenizer_json_does_not(tokenizer: SparseTokenizer) -> None:
    probes = REFERENCES["probes"]
    assert_node_maps(tokenizer.encode(probes["texts"]), probes["node"])
    assert tokenizer.encode(probes["texts"][:1]) != probes["alt/untruncated"][:1]


def test_blank_and_specials_only_texts_give_empty_maps(tokenizer: SparseTokenizer) -> None:
    assert tokenizer.encode(["", " \n", "[CLS] [SEP] [UNK]"]) == [{}, {}, {}]


def test_sparse_embedding_round_trips_to_the_token_map(tokenizer: SparseTokenizer) -> None:
    weights = tokenizer.encode(["Hello world. A man is playing a guitar."])[0]
    embedding = tokenizer.encode_sparse(["Hello world. A man is playing a guitar."])[0]
    assert embedding.indices == sorted(embedding.indices)
    assert embedding.indices == [
        tokenizer.vocabulary.ids[token] for token in sorted(weights, key=tokenizer.vocabulary.ids.get)
    ]
    assert tokenizer.vocabulary.to_token_weights(embedding) == weights
    assert tokenizer.vocabulary.to_sparse_embedding(weights) == embedding


def test_a_token_from_another_vocabulary_is_one_clear_error(tokenizer: SparseTokenizer) -> None:
    with pytest.raises(ModelInputError, match=r"'no-such-token-xyz'.*not the model's"):
        tokenizer.vocabulary.to_sparse_embedding({"no-such-token-xyz": 1.0}, source="the cluster's map")
    with pytest.raises(ModelInputError, match="index 0"):  # id 0 is [PAD]: special, never a key
        tokenizer.vocabulary.to_token_weights(SparseEmbedding(indices=[0], values=[1.0]))


def test_an_encoder_artifact_is_refused_with_what_to_do() -> None:
    with pytest.raises(ArtifactFormatError, match=r"SPARSE_ENCODING model, not SPARSE_TOKENIZE.*cluster"):
        SparseTokenizer(str(TESTING / "tiny-sparse-encoder"))


def test_a_non_string_text_names_its_position(tokenizer: SparseTokenizer) -> None:
    with pytest.raises(ModelInputError, match="Text 1 is int"):
        tokenizer.encode(["fine", 3])  # type: ignore[list-item]
