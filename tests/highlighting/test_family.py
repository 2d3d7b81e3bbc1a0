"""The semantic highlighter in the catalog and in the uploader (issue 20, item 1)."""

import json

import pytest

from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import UnsupportedServerError
from opensearch_pretrained_haystack.cluster.operations import cluster_description, registration_body
from opensearch_pretrained_haystack.cluster.uploader import ModelRequest, upload_and_deploy
from opensearch_pretrained_haystack.cluster.versions import ServerProfile
from opensearch_pretrained_haystack.families import family_of
from opensearch_pretrained_haystack.families.sentence_highlighting import config_is_sentence_highlighter, server_refusal
from tests.highlighting.fixture import HIGHLIGHTER_DIR, node_check

BASE = "https://artifacts.opensearch.org/models/ml-models/amazon/sentence-highlighting"


def test_the_highlighter_is_in_the_catalog_with_its_family_role_and_published_url() -> None:
    model = get_model("opensearch-semantic-highlighter-v1")
    assert (model.family, model.role, model.version, model.formats) == (
        "sentence-highlighting",
        "sentence-highlighter",
        "1.0.0",
        ("TORCH_SCRIPT",),
    )
    assert (model.task_type, model.model_type, model.dimension, model.minimum_opensearch) == (
        "QUESTION_ANSWERING",
        "sentence_highlighting",
        0,
        "3.0.0",
    )
    assert model.artifact_url("TORCH_SCRIPT") == (
        f"{BASE}/opensearch-semantic-highlighter-v1/1.0.0/torch_script/"
        "sentence-highlighting_opensearch-semantic-highlighter-v1-1.0.0-torch_script.zip"
    )
    assert (
        model.config_url("torch_script") == f"{BASE}/opensearch-semantic-highlighter-v1/1.0.0/torch_script/config.json"
    )


def test_registration_sends_question_answering_as_the_node_accepted_it() -> None:
    config = json.loads((HIGHLIGHTER_DIR / "config.json").read_text("utf-8"))
    assert "model_task_type" not in config and config_is_sentence_highlighter(config)
    body = registration_body(config)  # sent TEXT_EMBEDDING before: 400 "embedding dimension is null"
    accepted = node_check()["register_and_deploy"]["register_meta_request"]
    # The description is the node-accepted one in the characters every ML Commons update accepts, plus the mark.
    assert body.pop("description") == cluster_description(accepted["description"])
    assert body == {k: v for k, v in accepted.items() if k not in ("total_chunks", "description")}


def test_only_3_0_and_newer_run_it() -> None:
    assert server_refusal((3, 0, 0), "m") is None
    assert family_of("QUESTION_ANSWERING").needs_model_file and family_of("QUESTION_ANSWERING").onnx_inputs is None
    refusal = server_refusal((2, 19, 1), "amazon/sentence-highlighting/x")
    assert refusal is not None and "\n" not in refusal
    assert refusal.startswith("OpenSearch 2.19.1 cannot run amazon/sentence-highlighting/x") and "3.0.0" in refusal


class OldCluster:
    """An offline 2.19.1 cluster: only its version may be read; anything else is a test failure."""

    def server_profile(self) -> ServerProfile:
        return ServerProfile.parse("2.19.1")

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the uploader called {name} on a cluster that cannot run the model")


@pytest.mark.parametrize(
    "request_",
    [
        ModelRequest(str(HIGHLIGHTER_DIR), model_format="TORCH_SCRIPT", source="client"),
        ModelRequest("opensearch-semantic-highlighter-v1", model_format="TORCH_SCRIPT", source="client"),
        ModelRequest("opensearch-semantic-highlighter-v1", model_format="TORCH_SCRIPT", source="cluster"),
    ],
    ids=["directory", "catalog-client", "catalog-cluster"],
)
def test_an_old_cluster_is_refused_before_anything_is_fetched_or_registered(request_: ModelRequest) -> None:
    with pytest.raises(UnsupportedServerError, match=r"^OpenSearch 2\.19\.1 cannot run .*3\.0\.0 or newer"):
        upload_and_deploy(OldCluster(), request_)  # type: ignore[arg-type]
