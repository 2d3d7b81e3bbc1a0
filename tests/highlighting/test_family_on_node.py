"""The highlighter registers and deploys on 3.x (from a directory and from a mirror), and 2.x refuses it in one line."""

import shutil
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import MLCommonsClient, UnsupportedServerError
from tests.highlighting.fixture import HIGHLIGHTER_DIR, deployed_highlighter, server_version

pytestmark = pytest.mark.integration


def mirror_with_the_fixture(root: Path) -> Path:
    """A mirror laid out like the artifacts site that serves the tiny model in the highlighter's place."""
    model = get_model("opensearch-semantic-highlighter-v1")
    zip_path = root / "models" / "ml-models" / model.artifact_path("TORCH_SCRIPT")
    zip_path.parent.mkdir(parents=True)
    shutil.copyfile(HIGHLIGHTER_DIR / "tiny-semantic-highlighter-1.0.0-torch_script.zip", zip_path)
    shutil.copyfile(HIGHLIGHTER_DIR / "config.json", zip_path.parent / "config.json")
    return root


def test_deploys_from_a_directory_and_an_air_gapped_mirror_as_one_model(opensearch_url: str, tmp_path: Path) -> None:
    mirror = mirror_with_the_fixture(tmp_path / "mirror")
    uploader = PretrainedModelUploader(
        opensearch_url,
        "opensearch-semantic-highlighter-v1",
        model_format="TORCH_SCRIPT",
        source="client",
        mirror=str(mirror),
        cache_dir=str(tmp_path / "cache"),
    )
    client = MLCommonsClient(OpenSearch(opensearch_url))
    if server_version(opensearch_url) < (3, 0, 0):
        from_dir = PretrainedModelUploader(opensearch_url, str(HIGHLIGHTER_DIR), model_format="TORCH_SCRIPT")
        for refused in (uploader, from_dir):
            with pytest.raises(UnsupportedServerError, match=r"^OpenSearch 2\.\d+\.\d+ cannot run .*3\.0\.0 or newer"):
                refused.run()
        assert client.find_models("test/tiny-semantic-highlighter", "TORCH_SCRIPT") == []
        return
    from_dir = deployed_highlighter(opensearch_url)
    from_mirror = uploader.run()
    assert from_mirror["model_id"] == from_dir and from_mirror["model"]["reused"]
    model = client.get_model(from_dir)
    assert (model["algorithm"], model["model_state"]) == ("QUESTION_ANSWERING", "DEPLOYED")
    assert model["model_config"]["model_type"] == "sentence_highlighting"
