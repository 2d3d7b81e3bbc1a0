"""The model identity that travels with vectors (issue 17, item 1)."""

import logging

import pytest

from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.compatibility import (
    META_KEY,
    IndexMismatchError,
    ModelIdentity,
    require_cluster_model_fits,
    require_same_model,
)

L6 = get_model("all-MiniLM-L6-v2", "1.0.1")
L12 = get_model("all-MiniLM-L12-v2", "1.0.1")


def test_the_identity_round_trips_through_a_mapping_meta_and_ignores_unknown_keys():
    identity = ModelIdentity.of(L6)
    meta = {META_KEY: {**identity.to_meta(), "added_later": 1}}
    assert ModelIdentity.from_meta(meta) == identity
    assert ModelIdentity.from_meta({}) is None and ModelIdentity.from_meta(None) is None


def test_models_of_one_size_and_space_are_still_different_models():
    with pytest.raises(IndexMismatchError) as error:
        require_same_model("Index 'docs'", ModelIdentity.of(L6), ModelIdentity.of(L12))
    message = str(error.value)
    assert "\n" not in message and "all-MiniLM-L6-v2 1.0.1" in message and "all-MiniLM-L12-v2 1.0.1" in message
    assert "Nothing was written" in message


def test_another_version_or_artifact_is_another_model():
    with pytest.raises(IndexMismatchError, match=r"version '1\.0\.1' vs '1\.0\.2'"):
        require_same_model("Store 's'", ModelIdentity.of(L6), ModelIdentity.of(get_model("all-MiniLM-L6-v2", "1.0.2")))
    custom = ModelIdentity("my-model", "1", 8, "l2", artifact_sha256="a" * 64)
    with pytest.raises(IndexMismatchError, match="artifact sha256 bbbbbbbbbbbb"):
        require_same_model("Store 's'", custom, ModelIdentity("my-model", "1", 8, "l2", artifact_sha256="b" * 64))
    require_same_model("Store 's'", custom, ModelIdentity("my-model", "1", 8, "l2", artifact_sha256="a" * 64))


def test_the_format_is_not_part_of_the_identity():
    """ONNX and TORCH_SCRIPT of one version make the same vectors: one identity for both."""
    assert set(L6.formats) == {"ONNX", "TORCH_SCRIPT"}
    assert "format" not in " ".join(ModelIdentity.of(L6).to_meta())


def test_no_record_is_accepted_with_one_warning(caplog):
    with caplog.at_level(logging.WARNING):
        require_same_model("Index 'old'", None, ModelIdentity.of(L6))
    assert [r.getMessage().count("\n") for r in caplog.records] == [0]
    assert "Index 'old' records no model" in caplog.text and "all-MiniLM-L6-v2 1.0.1" in caplog.text


def test_a_deployed_model_of_another_name_is_refused():
    deployed = {"name": L12.name, "model_config": {"embedding_dimension": 384}}
    with pytest.raises(IndexMismatchError, match=f"is {L12.name}, not {L6.name}"):
        require_cluster_model_fits("m1", deployed, 384, way_out="Deploy the index's model.", name=L6.name)
    require_cluster_model_fits("m1", deployed, 384, way_out="-", name=L12.name)
