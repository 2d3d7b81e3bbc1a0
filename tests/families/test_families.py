"""The families' rules: one verdict for the pre-upload check and the local loader, every family found by its
ML Commons function name, and the catalog presented by family."""

import json
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.artifacts import load_artifact
from opensearch_pretrained_haystack.catalog import list_models
from opensearch_pretrained_haystack.cluster.uploader import check_before_upload
from opensearch_pretrained_haystack.errors import ModelInputError, OpenSearchPretrainedError
from opensearch_pretrained_haystack.families import FAMILIES, family_of

TESTING = Path(__file__).resolve().parents[3] / "shared" / "testing"

# (case, model directory under ../shared/testing, config.json changes, whether ML Commons could serve it)
CASES = [
    ("embedder bert, 3 inputs", "tiny-bert-mean", {}, True),
    ("embedder distilbert, 2 inputs", "tiny-distilbert-cls", {}, True),
    ("embedder relabelled distilbert, 3 inputs", "tiny-bert-mean", {"model_type": "distilbert"}, False),
    ("embedder bert, 2 inputs", "negative/tiny-xlmr-bert-mean-2inputs", {}, False),
    ("cross-encoder bert, 3 inputs", "tiny-cross-encoder/onnx", {}, True),
    ("cross-encoder relabelled distilbert, 3 inputs", "tiny-cross-encoder/onnx", {"model_type": "distilbert"}, True),
    ("cross-encoder of a 2-input graph", "tiny-distilbert-cls", {"task": "TEXT_SIMILARITY"}, False),
    ("sparse query tokenizer, no model file", "tiny-sparse-tokenizer", {}, True),
]


def _artifact(tmp_path: Path, folder: str, changes: dict[str, str]):
    source = TESTING / folder
    config = json.loads((source / "config.json").read_text())
    if "task" in changes:
        config["function_name"] = config["model_task_type"] = changes["task"]
    if "model_type" in changes:
        config["model_config"]["model_type"] = changes["model_type"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    return load_artifact(next(source.glob("*.zip")), tmp_path / "config.json", cache_dir=tmp_path / "cache")


def _verdict(check) -> str:
    try:
        closeable = check()
    except OpenSearchPretrainedError as error:
        return f"refused: {error}"
    if hasattr(closeable, "close"):
        closeable.close()
    return "accepted"


def _load_locally(artifact):
    runner = family_of(artifact.task_type).load(family_of(artifact.task_type).local_runner)
    return runner.from_artifact(artifact) if hasattr(runner, "from_artifact") else runner(artifact)


@pytest.mark.parametrize(("case", "folder", "changes", "servable"), CASES, ids=[case[0] for case in CASES])
def test_the_pre_upload_check_and_the_local_loader_give_one_verdict(tmp_path, case, folder, changes, servable):
    artifact = _artifact(tmp_path, folder, changes)
    uploading = _verdict(lambda: check_before_upload(artifact))
    loading = _verdict(lambda: _load_locally(artifact))
    assert uploading == loading  # the same rule, so the same words
    assert (uploading == "accepted") is servable, uploading


def test_the_relabelled_cross_encoder_is_fed_three_inputs_and_the_relabelled_embedder_two():
    distilbert_inputs = {family.task_type: family.onnx_inputs for family in FAMILIES if family.onnx_inputs}
    assert distilbert_inputs["TEXT_SIMILARITY"]("distilbert") == ("input_ids", "attention_mask", "token_type_ids")
    assert distilbert_inputs["TEXT_EMBEDDING"]("distilbert") == ("input_ids", "attention_mask")


def test_every_catalog_model_has_a_family_and_every_family_names_code_that_exists():
    assert {model.model_family.task_type for model in list_models()} == {family.task_type for family in FAMILIES}
    for family in FAMILIES:
        for reference in (family.local_runner, family.predict_call, family.index_builder):
            if reference is not None:
                assert callable(family.load(reference)), reference
    assert family_of("text_similarity") is family_of("TEXT_SIMILARITY")
    with pytest.raises(ModelInputError, match=r"IMAGE_CLASSIFICATION.*TEXT_EMBEDDING, TEXT_SIMILARITY"):
        family_of("IMAGE_CLASSIFICATION")  # a task type ML Commons has but no pretrained family uses
