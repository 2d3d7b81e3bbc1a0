import dataclasses
import re

import pytest

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.errors import UnknownModelError

BASE = "https://artifacts.opensearch.org/models/ml-models/huggingface/sentence-transformers"


def test_urls_follow_the_published_rule_for_both_formats():
    model = catalog.get_model("huggingface/sentence-transformers/all-MiniLM-L6-v2", "1.0.1")
    assert model.artifact_url("ONNX") == (
        f"{BASE}/all-MiniLM-L6-v2/1.0.1/onnx/sentence-transformers_all-MiniLM-L6-v2-1.0.1-onnx.zip"
    )
    assert model.artifact_url("TORCH_SCRIPT") == (
        f"{BASE}/all-MiniLM-L6-v2/1.0.1/torch_script/sentence-transformers_all-MiniLM-L6-v2-1.0.1-torch_script.zip"
    )
    assert model.config_url("onnx") == f"{BASE}/all-MiniLM-L6-v2/1.0.1/onnx/config.json"


def test_multi_qa_mpnet_base_dot_v1_is_768_dimensional_not_the_docs_384():
    for model in catalog.list_models():
        if model.alias == "multi-qa-mpnet-base-dot-v1":
            assert model.dimension == 768
            assert model.space_type == "innerproduct"


def test_every_sentence_transformer_has_1_0_1_and_both_formats_where_published():
    by_alias: dict[str, list[catalog.PretrainedModel]] = {}
    for model in catalog.list_models():
        if model.family == "sentence-transformers":
            by_alias.setdefault(model.alias, []).append(model)
    assert len(by_alias) == 11
    for alias, versions in by_alias.items():
        assert "1.0.1" in {m.version for m in versions}, alias
        expected = ("TORCH_SCRIPT",) if alias == "distiluse-base-multilingual-cased-v1" else ("ONNX", "TORCH_SCRIPT")
        assert all(m.formats == expected for m in versions), alias


def test_facts_that_decide_parity_and_index_mappings():
    minilm = catalog.get_model("all-MiniLM-L6-v2", "1.0.1")
    assert (minilm.dimension, minilm.pooling_mode, minilm.normalize, minilm.max_tokens) == (384, "MEAN", True, 128)
    tasb = catalog.get_model("msmarco-distilbert-base-tas-b", "1.0.2")
    assert (tasb.pooling_mode, tasb.normalize, tasb.space_type, tasb.model_type) == (
        "CLS",
        False,
        "innerproduct",
        "distilbert",
    )
    assert catalog.get_model("msmarco-distilbert-base-tas-b", "1.0.1").max_tokens == 512  # no truncation block: 512


def test_alias_lookup_is_case_insensitive_and_none_means_newest():
    assert catalog.get_model("ALL-minilm-l6-v2").version == "1.0.2"
    assert catalog.get_model("msmarco-distilbert-base-tas-b").version == "1.0.3"


def test_models_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.get_model("all-MiniLM-L6-v2").dimension = 1  # type: ignore[misc]


def test_unknown_name_names_the_closest_models():
    with pytest.raises(UnknownModelError, match="all-MiniLM-L6-v2"):
        catalog.get_model("all-MiniLM-L6")


def test_unknown_version_lists_published_versions():
    with pytest.raises(UnknownModelError, match=re.escape("1.0.1, 1.0.2")):
        catalog.get_model("all-MiniLM-L6-v2", "9.9.9")


def test_a_format_that_is_not_published_is_refused():
    with pytest.raises(UnknownModelError, match="only as TORCH_SCRIPT"):
        catalog.get_model("distiluse-base-multilingual-cased-v1").artifact_url("ONNX")
    with pytest.raises(ValueError, match="Unknown model format"):
        catalog.get_model("all-MiniLM-L6-v2").artifact_url("TENSORFLOW")
