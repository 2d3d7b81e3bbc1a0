"""OpenSearchMLRanker: its logic, and against the real node the uploader for TEXT_SIMILARITY models and parity."""

import json

import numpy as np
import pytest
from fault_proxy import FaultProxy
from haystack import Document, Pipeline
from haystack.utils import Secret
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker, OpenSearchMLRanker
from opensearch_pretrained_haystack.cluster import MLCommonsClient, TransientServerError
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.cluster.text_similarity import predict_similarity
from tests.conftest import TESTING

TINY = TESTING / "tiny-cross-encoder"
PAIRS = json.loads((TINY / "pairs.json").read_text("utf-8"))
REFERENCES = np.load(TINY / "references.npz")
QUERIES = sorted({p["query"] for p in PAIRS})
PASSAGES = sorted({p["passage"] for p in PAIRS if p["passage"]})
AUTH = (Secret.from_env_var("OS_USER"), Secret.from_env_var("OS_PASSWORD"))
FORMATS = ("ONNX", "TORCH_SCRIPT")


def test_init_is_light_and_keyword_only(monkeypatch):
    monkeypatch.delenv("OS_PASSWORD", raising=False)
    ranker = OpenSearchMLRanker(hosts="http://localhost:1", model_id="m", http_auth=AUTH)  # no secret resolved
    assert ranker._backend.predictor is None
    with pytest.raises(TypeError):
        OpenSearchMLRanker("http://localhost:1", "m")  # type: ignore[misc]
    ranker.close()  # safe without warm_up


def test_to_dict_has_no_secret_value_and_round_trips_through_yaml(monkeypatch):
    monkeypatch.setenv("OS_PASSWORD", "hunter2")
    ranker = OpenSearchMLRanker(hosts="http://localhost:9200", model_id="m", http_auth=AUTH, top_k=3, batch_size=8)
    data = ranker.to_dict()
    assert "hunter2" not in str(data)
    assert data["type"].endswith("rankers.opensearch_pretrained.opensearch_ml_ranker.OpenSearchMLRanker")
    assert data["init_parameters"]["http_auth"][1] == {"type": "env_var", "env_vars": ["OS_PASSWORD"], "strict": True}
    pipeline = Pipeline()
    pipeline.add_component("ranker", ranker)
    restored = Pipeline.loads(pipeline.dumps()).get_component("ranker")  # default allowlist
    assert restored.to_dict() == data and restored.http_auth == AUTH and restored.top_k == 3


def test_wrong_inputs_are_refused_before_any_request():
    ranker = OpenSearchMLRanker(hosts="http://localhost:1", model_id="m")
    with pytest.raises(TypeError, match="list of Documents"):
        ranker.run(query="q", documents=[{"content": "x"}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="top_k"):
        ranker.run(query="q", documents=[], top_k=-1)


# --- On the real node ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cross_encoder_ids(opensearch_url: str) -> dict[str, str]:
    """The tiny cross-encoder deployed in both formats by the uploader, from this client in chunks."""
    return {
        fmt: PretrainedModelUploader(opensearch_url, str(TINY / fmt.lower()), model_format=fmt, source="client").run()[
            "model_id"
        ]
        for fmt in FORMATS
    }


@pytest.fixture(scope="module")
def local() -> LocalOnnxRanker:
    ranker = LocalOnnxRanker(model=str(TINY / "onnx"), top_k=100)
    ranker.warm_up()
    return ranker


@pytest.mark.integration
@pytest.mark.parametrize("fmt", FORMATS)
def test_uploader_deploys_text_similarity_models_idempotently(opensearch_url, cross_encoder_ids, fmt):
    again = PretrainedModelUploader(opensearch_url, str(TINY / fmt.lower()), model_format=fmt, source="client").run()
    assert again["model_id"] == cross_encoder_ids[fmt]
    assert again["model"]["reused"] is True and again["model"]["state"] == "DEPLOYED"
    document = MLCommonsClient(OpenSearch(opensearch_url)).get_model(cross_encoder_ids[fmt])
    assert document["algorithm"] == "TEXT_SIMILARITY" and document["model_format"] == fmt


@pytest.mark.integration
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_nodes_logits_match_the_references_on_all_40_pairs(opensearch_url, cross_encoder_ids, fmt):
    client = MLCommonsClient(OpenSearch(opensearch_url))
    logits = [
        client.run(predict_similarity(cross_encoder_ids[fmt], p["query"], [p["passage"]], timeout=60.0))[0]
        for p in PAIRS
    ]
    assert np.abs(np.array(logits) - REFERENCES[f"node_{fmt.lower()}"]).max() <= 1e-5


@pytest.mark.integration
@pytest.mark.parametrize("fmt", FORMATS)
def test_opensearch_ml_ranker_equals_local_onnx_ranker(opensearch_url, cross_encoder_ids, local, fmt):
    remote = OpenSearchMLRanker(
        hosts=opensearch_url, model_id=cross_encoder_ids[fmt], top_k=100, batch_size=4, max_concurrency=3
    )
    docs = [Document(content=text) for text in PASSAGES] + [Document(content=None)]
    for query in QUERIES:
        ranked = remote.run(query=query, documents=docs)["documents"]
        expected = local.run(query=query, documents=docs)["documents"]
        assert ranked[-1].content is None and ranked[-1].score is None
        scores = {d.id: d.score for d in ranked[:-1]}
        assert max(abs(scores[d.id] - d.score) for d in expected[:-1]) <= 1e-5, query
    remote.close()


@pytest.mark.integration
async def test_run_async_uses_the_async_client_and_agrees(opensearch_url, cross_encoder_ids, local):
    remote = OpenSearchMLRanker(hosts=opensearch_url, model_id=cross_encoder_ids["ONNX"], batch_size=3, top_k=5)
    docs = [Document(content=text) for text in PASSAGES]
    ranked = (await remote.run_async(query=QUERIES[3], documents=docs))["documents"]
    assert remote._backend.get()._client is None  # only the async client was built
    expected = local.run(query=QUERIES[3], documents=docs, top_k=5)["documents"]
    assert [d.id for d in ranked] == [d.id for d in expected]
    assert np.abs(np.array([d.score for d in ranked]) - [d.score for d in expected]).max() <= 1e-5
    await remote.close_async()


@pytest.mark.integration
def test_throttling_is_retried_with_backoff_through_a_fault_proxy(opensearch_url, cross_encoder_ids, local):
    docs = [Document(content=text) for text in PASSAGES[:4]]
    with FaultProxy(opensearch_url, failures=3, status=429) as proxy:
        remote = OpenSearchMLRanker(hosts=proxy.url, model_id=cross_encoder_ids["ONNX"], batch_size=4)
        remote._backend.get().retry = RetryPolicy(initial_backoff=0.05, max_attempts=5)
        ranked = remote.run(query=QUERIES[1], documents=docs)["documents"]
    assert proxy.injected == 3 and proxy.forwarded == 1
    assert [d.id for d in ranked] == [d.id for d in local.run(query=QUERIES[1], documents=docs)["documents"]]


@pytest.mark.integration
def test_a_batch_that_keeps_failing_raises_instead_of_ranking_with_holes(opensearch_url, cross_encoder_ids):
    with FaultProxy(opensearch_url, failures=10, status=503) as proxy:
        remote = OpenSearchMLRanker(hosts=proxy.url, model_id=cross_encoder_ids["ONNX"], max_retries=1)
        remote._backend.get().retry = RetryPolicy(max_attempts=2, initial_backoff=0.01)
        with pytest.raises(TransientServerError, match="gave up after 2 attempts"):
            remote.run(query="q", documents=[Document(content="d")])
