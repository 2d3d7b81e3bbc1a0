"""Asymmetric models (issue 21): the prefixes of ``model_config`` applied by the local embedders, and by the cluster
when the remote embedders send ``content_type`` — local ≡ cluster for queries and passages on the real node.

The fixture is tests-only: ../shared/testing/tiny-bert-mean's zip (linked, not copied) with a ``config.json`` that
adds ``query_prefix``/``passage_prefix`` and a name of its own."""

import json

import numpy as np
import pytest
from haystack import Document
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalOnnxDocumentEmbedder,
    LocalOnnxTextEmbedder,
    OpenSearchMLDocumentEmbedder,
    OpenSearchMLTextEmbedder,
)
from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from opensearch_pretrained_haystack.cluster import MLCommonsClient, UnsupportedServerError
from opensearch_pretrained_haystack.indices.neural import create_ingest_pipeline
from tests.conftest import TESTING

TINY = TESTING / "tiny-bert-mean"
PREFIXES = {"query_prefix": "query: ", "passage_prefix": "passage: "}
TEXTS = ["how do I cook rice?", "Risotto needs arborio rice and stock.", "a"]


@pytest.fixture(scope="session")
def asymmetric_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-bert-mean-asymmetric")
    config = json.loads((TINY / "config.json").read_text())
    config["name"] = "test/tiny-bert-mean-asymmetric"
    config["model_config"].update(PREFIXES)
    (folder / "config.json").write_text(json.dumps(config))
    for archive in TINY.glob("*.zip"):
        (folder / archive.name).symlink_to(archive)
    return str(folder)


def _query(model, **kwargs):
    return np.array(LocalOnnxTextEmbedder(model, **kwargs).run(text=TEXTS[0])["embedding"])


def _passages(model, **kwargs):
    documents = LocalOnnxDocumentEmbedder(model, progress_bar=False, **kwargs).run([Document(content=t) for t in TEXTS])
    return np.array([document.embedding for document in documents["documents"]])


def test_local_embedders_apply_the_models_own_prefixes_and_a_given_prefix_overrides_them(asymmetric_dir):
    plain = str(TINY)
    np.testing.assert_array_equal(_query(asymmetric_dir), _query(plain, prefix="query: "))
    np.testing.assert_array_equal(_passages(asymmetric_dir), _passages(plain, prefix="passage: "))
    np.testing.assert_array_equal(_query(asymmetric_dir, prefix=""), _query(plain))  # "" overrides: no prefix
    np.testing.assert_array_equal(_passages(asymmetric_dir, prefix="x "), _passages(plain, prefix="x "))
    assert not np.allclose(_query(asymmetric_dir), _query(plain))


@pytest.fixture(scope="session")
def asymmetric_model_id(opensearch_url, asymmetric_dir):
    """Deployed for the session, then undeployed and deleted (it is this test's own model)."""
    model_id = PretrainedModelUploader(opensearch_url, asymmetric_dir, source="client").run()["model_id"]
    yield model_id
    client = MLCommonsClient(OpenSearch(hosts=opensearch_url))
    client.undeploy(model_id)
    client.delete_model(model_id)


@pytest.mark.integration
def test_the_cluster_embeds_queries_and_passages_like_the_local_embedders(
    opensearch_url, asymmetric_dir, asymmetric_model_id
):
    model = MLCommonsClient(OpenSearch(hosts=opensearch_url)).get_model(asymmetric_model_id)
    assert {key: model["model_config"][key] for key in PREFIXES} == PREFIXES  # the uploader registered them
    remote_query = OpenSearchMLTextEmbedder(opensearch_url, asymmetric_model_id).run(text=TEXTS[0])["embedding"]
    np.testing.assert_allclose(remote_query, _query(asymmetric_dir), atol=1e-6)
    embedder = OpenSearchMLDocumentEmbedder(opensearch_url, asymmetric_model_id, progress_bar=False)
    remote = embedder.run([Document(content=t) for t in TEXTS])["documents"]
    np.testing.assert_allclose([d.embedding for d in remote], _passages(asymmetric_dir), atol=1e-6)
    with pytest.raises(ValueError, match=r"asymmetric: the cluster puts its registered prefix 'query: '"):
        OpenSearchMLTextEmbedder(opensearch_url, asymmetric_model_id, prefix="query: ").run(text=TEXTS[0])


@pytest.mark.integration
def test_an_ingest_pipeline_embeds_passages_with_the_passage_prefix_from_3_5_and_is_refused_before(
    opensearch_url, asymmetric_dir, asymmetric_model_id, index_name
):
    client = OpenSearch(hosts=opensearch_url)
    pipeline = f"{index_name}-asymmetric"
    if MLCommonsClient(client).server_profile().version < (3, 5, 0):
        with pytest.raises(UnsupportedServerError, match=r"asymmetric models in ingest pipelines .* needs 3\.5\.0"):
            create_ingest_pipeline(client, pipeline, asymmetric_model_id)
        assert not client.ingest.get_pipeline(id=pipeline, ignore=[404]).get(pipeline)
        return
    create_ingest_pipeline(client, pipeline, asymmetric_model_id)
    try:
        client.index(index=index_name, id="1", body={"content": TEXTS[1]}, params={"pipeline": pipeline}, refresh=True)
        stored = client.get(index=index_name, id="1")["_source"]["embedding"]
    finally:
        client.ingest.delete_pipeline(id=pipeline)
    np.testing.assert_allclose(stored, _passages(asymmetric_dir)[1], atol=1e-6)
