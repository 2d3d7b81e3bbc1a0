import pytest

from opensearch_pretrained_haystack.cluster import ServerProfile, UnsupportedServerError


@pytest.mark.parametrize(
    ("number", "register", "deploy", "meta", "chunk"),
    [
        ("2.5.0", "models/_upload", "m/_load", "models/meta", "m/chunk/0"),
        ("2.6.0", "models/_upload", "m/_load", "models/meta", "m/chunk/0"),
        ("2.7.0", "models/_register", "m/_deploy", "models/_register_meta", "m/upload_chunk/0"),
        ("2.19.1", "models/_register", "m/_deploy", "models/_register_meta", "m/upload_chunk/0"),
        ("3.0.0-SNAPSHOT", "models/_register", "m/_deploy", "models/_register_meta", "m/upload_chunk/0"),
    ],
)
def test_routes_follow_the_server_version(number, register, deploy, meta, chunk):
    profile = ServerProfile.parse(number)
    ml = "/_plugins/_ml/"
    assert profile.register_path == ml + register
    assert profile.register_meta_path == ml + meta
    assert profile.deploy_path("m") == ml + "models/" + deploy
    assert profile.upload_chunk_path("m", 0) == ml + "models/" + chunk
    assert profile.undeploy_path("m").endswith("_unload" if profile.legacy_routes else "_undeploy")


@pytest.mark.parametrize(("number", "needs"), [("2.6.0", False), ("2.8.0", True), ("2.10.1", True), ("2.11.0", False)])
def test_named_model_group_only_on_2_8_to_2_10(number, needs):
    assert ServerProfile.parse(number).needs_named_model_group is needs


@pytest.mark.parametrize("number", ["2.3.0", "1.3.14", "banana"])
def test_old_or_unreadable_versions_are_refused_with_what_to_do(number):
    with pytest.raises(UnsupportedServerError, match="OpenSearch"):
        ServerProfile.parse(number)
