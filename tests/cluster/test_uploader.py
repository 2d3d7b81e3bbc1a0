import json
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from opensearch_pretrained_haystack.cluster import MLCommonsClient, TaskFailedError
from opensearch_pretrained_haystack.cluster.uploader import ModelRequest, upload_and_deploy
from opensearch_pretrained_haystack.cluster.versions import ServerProfile
from opensearch_pretrained_haystack.errors import ArtifactFormatError, ModelInputError
from tests.conftest import TESTING


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


class ScriptedCluster:
    """Plays an offline cluster for the uploader's decision logic: nothing registered, no internet."""

    def __init__(self, registered: list[dict] | None = None) -> None:
        self.registered = registered or []
        self.calls: list[str] = []

    def find_models(self, name, model_format):
        self.calls.append("find")
        return self.registered

    def register_pretrained(self, name, version, model_format):
        self.calls.append("register_pretrained")
        raise TaskFailedError(
            "FAILED: artifacts.opensearch.org", task_id="t", task={}, reason="artifacts.opensearch.org"
        )

    def upload_model(self, zip_path, config):
        self.calls.append("upload_model")
        self.uploaded_config = config
        return "uploaded-id"

    def server_profile(self):
        return ServerProfile((3, 6, 0))

    def deploy(self, model_id, timeout):
        self.calls.append(f"deploy {model_id}")
        return {"model_state": "DEPLOYED"}


def test_auto_falls_back_to_uploading_when_the_cluster_cannot_download():
    cluster = ScriptedCluster()
    request = ModelRequest("all-MiniLM-L6-v2", "1.0.1", source="auto", mirror=TESTING.parent / "mirror")
    deployed = upload_and_deploy(cluster, request)  # type: ignore[arg-type]
    assert cluster.calls == ["find", "register_pretrained", "upload_model", "deploy uploaded-id"]
    assert (deployed.source, deployed.reused, deployed.dimension) == ("client", False, 384)
    # on 3.1+ the catalog's space type goes along, for semantic fields (issue 21)
    assert cluster.uploaded_config["model_config"]["additional_config"] == {"space_type": "l2"}


def test_cluster_source_failure_says_to_use_the_client():
    with pytest.raises(TaskFailedError) as raised:
        upload_and_deploy(ScriptedCluster(), ModelRequest("all-MiniLM-L6-v2", "1.0.1", source="cluster"))  # type: ignore[arg-type]
    assert "source='client'" in raised.value.__notes__[0]


def test_an_interrupted_upload_is_not_reused_but_a_deployed_copy_is():
    leftovers = [{"model_id": "half", "model_state": "REGISTERING"}, {"model_id": "good", "model_state": "DEPLOYED"}]
    cluster = ScriptedCluster(leftovers)
    deployed = upload_and_deploy(cluster, ModelRequest("all-MiniLM-L6-v2", "1.0.1", source="cluster"))  # type: ignore[arg-type]
    assert deployed.model_id == "good" and deployed.reused
    assert cluster.calls == ["find", "deploy good"]


def _custom_model(folder: Path, entries: dict[str, bytes], model_type: str = "bert") -> Path:
    """A custom model directory whose zip holds ``entries``, with a config.json that verifies it."""
    import hashlib
    import zipfile

    folder.mkdir()
    zip_path = folder / "evil-1.0.0-onnx.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    data = zip_path.read_bytes()
    config = {
        "name": f"test/evil-{folder.name}",
        "version": "1.0.0",
        "model_format": "ONNX",
        "model_content_size_in_bytes": len(data),
        "model_content_hash_value": hashlib.sha256(data).hexdigest(),
        "model_config": {"model_type": model_type, "embedding_dimension": 32},
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _nothing_registered(opensearch_url: str, model_dir: Path) -> bool:
    name = json.loads((model_dir / "config.json").read_text())["name"]
    return MLCommonsClient(OpenSearch(opensearch_url)).find_models(name, "ONNX") == []


@pytest.mark.integration
def test_a_zip_the_package_would_not_unpack_is_never_uploaded(opensearch_url: str, tmp_path):
    tiny = next((TESTING / "tiny-bert-mean").glob("*.zip"))
    import zipfile

    with zipfile.ZipFile(tiny) as source:
        entries = {Path(i.filename).name: source.read(i) for i in source.infolist()}
    model_dir = _custom_model(tmp_path / "traversal", {**entries, "../evil": b"owned"})
    with pytest.raises(ArtifactFormatError, match="outside the archive"):
        PretrainedModelUploader(opensearch_url, str(model_dir), source="client").run()
    assert _nothing_registered(opensearch_url, model_dir)


@pytest.mark.integration
def test_a_graph_whose_inputs_ml_commons_would_not_send_is_refused_before_upload(opensearch_url: str):
    model_dir = TESTING / "negative" / "tiny-xlmr-bert-mean-2inputs"
    with pytest.raises(ModelInputError) as refused:
        PretrainedModelUploader(opensearch_url, str(model_dir), source="client").run()
    message = str(refused.value)
    assert "['attention_mask', 'input_ids']" in message  # the graph's inputs
    assert "['input_ids', 'attention_mask', 'token_type_ids']" in message and "'bert'" in message  # what is sent
    assert "Re-export" in message  # what to do
    assert _nothing_registered(opensearch_url, model_dir)


def test_the_pre_upload_check_is_the_local_embedders_rule(tmp_path):
    from opensearch_pretrained_haystack.artifacts import load_model_dir
    from opensearch_pretrained_haystack.cluster.uploader import check_before_upload
    from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder

    artifact = load_model_dir(TESTING / "negative" / "tiny-xlmr-bert-mean-2inputs", cache_dir=tmp_path)
    with pytest.raises(ModelInputError) as uploading:
        check_before_upload(artifact)
    with pytest.raises(ModelInputError) as embedding:
        LocalOnnxEmbedder(artifact)
    assert str(uploading.value) == str(embedding.value)
    check_before_upload(load_model_dir(TESTING / "tiny-xlmr-bert-mean", cache_dir=tmp_path))  # 3 inputs: fine
