"""Sparse models register and deploy through the uploader (issue 11, item 2)."""

import json

import pytest
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.cluster import MLCommonsClient
from opensearch_pretrained_haystack.cluster.operations import registration_body
from opensearch_pretrained_haystack.cluster.uploader import REUSABLE_STATES, ModelRequest, upload_and_deploy
from tests.sparse_models import SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR


@pytest.mark.parametrize("folder", [SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR], ids=["encoder", "tokenizer"])
def test_a_config_without_model_config_registers_with_its_function_name(folder) -> None:  # type: ignore[no-untyped-def]
    config = json.loads((folder / "config.json").read_text("utf-8"))
    assert "model_config" not in config
    body = registration_body(config)  # raised KeyError: 'model_config' before
    assert "model_config" not in body
    assert body["function_name"] == config["model_task_type"]
    assert body["model_content_hash_value"] == config["model_content_hash_value"]


def test_dense_configs_still_send_their_model_config() -> None:
    config = {
        "name": "n",
        "version": "1",
        "model_format": "ONNX",
        "model_content_hash_value": "h",
        "model_config": {"model_type": "bert", "embedding_dimension": 8},
    }
    assert registration_body(config)["model_config"] == config["model_config"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("folder", "task"),
    [(SPARSE_ENCODER_DIR, "SPARSE_ENCODING"), (SPARSE_TOKENIZER_DIR, "SPARSE_TOKENIZE")],
    ids=["encoder", "tokenizer"],
)
def test_both_task_types_deploy_from_the_client_and_twice_leaves_one(opensearch_url: str, folder, task: str) -> None:  # type: ignore[no-untyped-def]
    client = MLCommonsClient(OpenSearch(opensearch_url))
    request = ModelRequest(str(folder), model_format="TORCH_SCRIPT", source="client")
    first = upload_and_deploy(client, request)
    second = upload_and_deploy(client, request)
    assert second.model_id == first.model_id and second.reused
    assert first.state == second.state == "DEPLOYED"
    assert first.dimension == 0
    name = json.loads((folder / "config.json").read_text("utf-8"))["name"]
    # One complete registration, whatever state the search index shows yet (it lags the model's own record).
    registered = [m for m in client.find_models(name, "TORCH_SCRIPT") if m["model_state"] in REUSABLE_STATES]
    assert [m["model_id"] for m in registered] == [first.model_id]
    assert client.get_model(first.model_id)["model_state"] == "DEPLOYED"
    assert client.get_model(first.model_id)["algorithm"] == task
