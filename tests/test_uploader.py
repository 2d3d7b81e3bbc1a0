import json
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from opensearch_pretrained_haystack.cluster import MLCommonsClient
from opensearch_pretrained_haystack.uploader import ModelRequest

TESTING = Path(__file__).resolve().parents[1].parent / "shared" / "testing"


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="source must be one of auto, cluster, client"):
        ModelRequest("all-MiniLM-L6-v2", source="somewhere")  # type: ignore[arg-type]


def test_the_cluster_cannot_download_a_custom_model():
    with pytest.raises(ValueError, match="source='client'"):
        PretrainedModelUploader("http://localhost:9200", str(TESTING / "tiny-distilbert-cls"), source="cluster")


def test_to_dict_round_trip():
    uploader = PretrainedModelUploader("http://localhost:9200", "all-MiniLM-L6-v2", "1.0.1", source="client")
    data = uploader.to_dict()
    assert data["init_parameters"]["source"] == "client"
    assert PretrainedModelUploader.from_dict(data).to_dict() == data


@pytest.mark.integration
def test_running_twice_leaves_one_model(opensearch_url: str):
    model_dir = TESTING / "tiny-distilbert-cls"
    name = json.loads((model_dir / "config.json").read_text())["name"]
    first = PretrainedModelUploader(opensearch_url, str(model_dir), source="client").run()
    second = PretrainedModelUploader(opensearch_url, str(model_dir), source="auto").run()
    assert second["model_id"] == first["model_id"]
    assert second["model"]["reused"] is True and second["model"]["state"] == "DEPLOYED"
    assert first["model"]["dimension"] == second["model"]["dimension"]
    registered = MLCommonsClient(OpenSearch(opensearch_url)).find_models(name, "ONNX")
    assert [model["model_id"] for model in registered] == [first["model_id"]]
