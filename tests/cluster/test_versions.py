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


# --- k-NN and neural-search differences (issue 9 §2) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "engine", "space", "refused"),
    [
        ("2.19.1", "nmslib", "l2", None),
        ("3.0.0", "nmslib", "l2", "refuses new nmslib indices"),
        ("3.6.0", "nmslib", "cosinesimil", "refuses new nmslib indices"),
        ("3.6.0", "lucene", "l2", None),
        ("2.18.0", "faiss", "cosinesimil", "needs 2.19.0"),
        ("2.19.1", "faiss", "cosinesimil", None),
    ],
)
def test_new_knn_index_refusals_follow_the_server_version(number, engine, space, refused):
    refusal = ServerProfile.parse(number).new_knn_index_refusal(engine, space)
    assert refusal is None if refused is None else refused in refusal and "engine='lucene'" in refusal


@pytest.mark.parametrize(("number", "in_parameters"), [("2.19.1", True), ("3.0.0", True), ("3.1.0", False)])
def test_rrf_rank_constant_moved_out_of_parameters_in_3_1(number, in_parameters):
    assert ServerProfile.parse(number).rrf_rank_constant_in_parameters is in_parameters


def test_index_body_refuses_nmslib_for_a_3x_server_before_sending():
    from opensearch_pretrained_haystack.catalog import get_model
    from opensearch_pretrained_haystack.indices.knn import knn_index_body

    minilm = get_model("all-MiniLM-L6-v2", "1.0.1")
    with pytest.raises(UnsupportedServerError, match=r"OpenSearch 3\.6\.0 refuses new nmslib"):
        knn_index_body(minilm, engine="nmslib", server_version=(3, 6, 0))
    assert knn_index_body(minilm, engine="nmslib", server_version=(2, 19, 1))["mappings"]["properties"]["embedding"]


@pytest.mark.integration
def test_document_store_reads_the_version_and_refuses_nmslib_only_where_the_server_would(opensearch_url, index_name):
    """On 3.x: refused by the package and nothing created. On 2.x the rule does not apply, so the store goes on to
    its index check (create_index=False: the test node has no nmslib natives, so no such index may be made)."""
    from opensearchpy import OpenSearch

    from opensearch_pretrained_haystack.catalog import get_model
    from opensearch_pretrained_haystack.cluster import MLCommonsClient
    from opensearch_pretrained_haystack.indices.knn import MissingIndexError, document_store_for

    client = OpenSearch(hosts=opensearch_url)
    version = MLCommonsClient(client).server_profile().version
    minilm = get_model("all-MiniLM-L6-v2", "1.0.1")
    if version >= (3, 0, 0):
        with pytest.raises(UnsupportedServerError, match="refuses new nmslib"):
            document_store_for(minilm, opensearch_url, index_name, engine="nmslib", number_of_replicas=0)
    else:
        with pytest.raises(MissingIndexError):
            document_store_for(minilm, opensearch_url, index_name, engine="nmslib", create_index=False)
    assert not client.indices.exists(index=index_name)
