"""The local SPARSE_ENCODING engine against the node's maps of the tiny sparse encoder (references.json)."""

import json
from collections.abc import Iterator

import pytest

from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder
from tests.conftest import TESTING

ENCODER = TESTING / "tiny-sparse-encoder"
REFERENCES = json.loads((ENCODER / "references.json").read_text())


@pytest.fixture(scope="module")
def encoder() -> Iterator[LocalSparseEncoder]:
    loaded = LocalSparseEncoder(ENCODER)
    yield loaded
    loaded.close()


def assert_maps_equal_nodes(maps: list[dict[str, float]], node: list[dict[str, float]]) -> None:
    assert len(maps) == len(node)
    for position, (ours, theirs) in enumerate(zip(maps, node, strict=True)):
        assert set(ours) == set(theirs), f"text {position}: keys differ"
        assert all(abs(ours[token] - theirs[token]) <= 1e-5 for token in theirs), f"text {position}: weights differ"


def test_every_shared_text_gives_the_nodes_map(encoder):
    assert_maps_equal_nodes(encoder.encode(REFERENCES["texts"]), REFERENCES["node"])


def test_the_512_token_probes_give_the_nodes_maps(encoder):
    probes = REFERENCES["probes"]
    assert encoder.max_tokens == 512 and max(probes["token_counts"]) == 512
    assert_maps_equal_nodes(encoder.encode(probes["texts"]), probes["node"])


def test_batches_give_what_one_text_per_call_gives(encoder):
    texts = REFERENCES["texts"]
    one_by_one = [encoder.encode([text])[0] for text in texts]
    assert_maps_equal_nodes(encoder.encode(texts, batch_size=7), one_by_one)


def test_token_id_format_keys_are_the_ids_the_words_decode_from(encoder):
    text = "A man is playing a guitar."
    (by_id,) = encoder.encode([text], sparse_format="token_id")
    (by_word,) = encoder.encode([text])
    assert by_id and all(key.isdigit() for key in by_id)
    assert {encoder.vocabulary.tokens[int(key)]: weight for key, weight in by_id.items()} == by_word


def test_sparse_embeddings_round_trip_to_the_nodes_map(encoder):
    embeddings = encoder.encode_sparse(REFERENCES["texts"][3:6])
    assert [encoder.vocabulary.to_token_weights(e) for e in embeddings] == encoder.encode(REFERENCES["texts"][3:6])
    assert all(e.indices == sorted(e.indices) for e in embeddings)


def test_a_query_tokenizer_is_refused_with_what_to_use():
    with pytest.raises(
        ModelInputError,
        match=r"SPARSE_TOKENIZE model; .* \(query tokenizers run in SparseTokenizer",
    ):
        LocalSparseEncoder(TESTING / "tiny-sparse-tokenizer")


def test_a_non_string_text_names_its_position(encoder):
    with pytest.raises(ModelInputError, match="Text 1 is int"):
        encoder.encode(["fine", 3])  # type: ignore[list-item]
