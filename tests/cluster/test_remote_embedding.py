"""OpenSearchMLEmbedder and the OpenSearchML components: unit tests of their logic (no cluster)."""

import json

import numpy as np
import pytest
from fault_proxy import FaultProxy
from haystack import Document, Pipeline
from haystack.utils import Secret
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_document_embedder import (
    OpenSearchMLDocumentEmbedder,
)
from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_text_embedder import (
    OpenSearchMLTextEmbedder,
)
from opensearch_pretrained_haystack.cluster import MLCommonsClient, ModelNotDeployedError, RetryPolicy
from opensearch_pretrained_haystack.cluster.errors import ThrottledError
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchOutcome, OpenSearchMLEmbedder
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from tests.conftest import TESTING

AUTH = (Secret.from_env_var("OS_USER"), Secret.from_env_var("OS_PASSWORD"))


def test_batches_cover_all_texts_in_order():
    embedder = OpenSearchMLEmbedder("http://localhost:9200", "m", batch_size=3)
    assert embedder._bounds(7) == [(0, 3), (3, 6), (6, 7)]


def test_invalid_batching_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        OpenSearchMLEmbedder("http://localhost:9200", "m", batch_size=0)


def test_init_resolves_no_secret_and_warm_up_does(monkeypatch):
    component = OpenSearchMLDocumentEmbedder("http://localhost:9200", "m", http_auth=AUTH)
    assert component._backend.predictor is None  # nothing built in __init__
    monkeypatch.setenv("OS_USER", "admin")
    monkeypatch.setenv("OS_PASSWORD", "hunter2")
    component.warm_up()
    component.warm_up()  # idempotent
    assert component._backend.get()._client is not None
    component.close()
    assert component._backend.get()._client is None


def test_close_is_safe_without_warm_up():
    OpenSearchMLTextEmbedder("http://localhost:9200", "m").close()


def test_to_dict_has_no_secret_value_and_round_trips_through_yaml(monkeypatch):
    monkeypatch.setenv("OS_PASSWORD", "hunter2")
    component = OpenSearchMLDocumentEmbedder(
        "http://localhost:9200", "m", http_auth=AUTH, batch_size=8, meta_fields_to_embed=["title"]
    )
    data = component.to_dict()
    assert "hunter2" not in str(data)
    assert data["init_parameters"]["http_auth"][1] == {"type": "env_var", "env_vars": ["OS_PASSWORD"], "strict": True}
    pipeline = Pipeline()
    pipeline.add_component("embedder", component)
    pipeline.add_component("query", OpenSearchMLTextEmbedder("http://localhost:9200", "m", prefix="q: "))
    loaded = Pipeline.loads(pipeline.dumps())  # default allowlist: haystack_integrations.*
    restored = loaded.get_component("embedder")
    assert restored.to_dict() == data
    assert restored.http_auth == AUTH
    assert loaded.get_component("query").prefix == "q: "


def test_wrong_inputs_name_the_sibling():
    with pytest.raises(TypeError, match="OpenSearchMLTextEmbedder"):
        OpenSearchMLDocumentEmbedder("http://x", "m").run(documents="text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="OpenSearchMLDocumentEmbedder"):
        OpenSearchMLTextEmbedder("http://x", "m").run(text=[Document(content="x")])  # type: ignore[arg-type]


class ScriptedBackend(OpenSearchMLEmbedder):
    """Stands in for the cluster: batch 1 fails with a 429 that outlived its retries."""

    def embed_batches(self, texts, progress=None):
        outcomes = []
        for start, stop in self._bounds(len(texts)):
            if start == self.batch_size:
                outcomes.append(BatchOutcome(start, stop, None, ThrottledError("429")))
            else:
                outcomes.append(BatchOutcome(start, stop, np.full((stop - start, 2), start, np.float32), None))
        return outcomes


def scripted(raise_on_failure: bool) -> OpenSearchMLDocumentEmbedder:
    component = OpenSearchMLDocumentEmbedder(
        "http://x", "m", batch_size=2, raise_on_failure=raise_on_failure, progress_bar=False
    )
    component._backend.predictor = ScriptedBackend("http://x", "m", batch_size=2)
    component._backend.predictor.connect = lambda: None  # no client needed by the scripted backend
    component._backend.predictor.model_name = "tiny-name"  # as if read from the cluster
    return component


def test_failed_batch_documents_come_back_without_embedding_and_are_counted():
    docs = [Document(content=f"d{i}") for i in range(3)] + [Document(content="")] + [Document(content="d4")]
    result = scripted(raise_on_failure=False).run(documents=docs)
    out = result["documents"]
    assert [d.id for d in out] == [d.id for d in docs]  # nothing dropped, order kept
    assert out[0].embedding == [0.0, 0.0] and out[1].embedding == [0.0, 0.0]
    assert out[2].embedding is None and out[4].embedding is None  # the failed batch: texts 2-3 = docs 2 and 4
    assert out[3].embedding is None  # no content
    assert result["meta"] == {
        "model": "tiny-name",
        "model_id": "m",
        "documents_embedded": 2,
        "documents_failed": 2,
        "documents_without_content": 1,
    }
    assert docs[0].embedding is None  # inputs untouched


def test_raise_on_failure_raises_the_batch_error():
    with pytest.raises(ThrottledError):
        scripted(raise_on_failure=True).run(documents=[Document(content=f"d{i}") for i in range(4)])


# --- On the real node ------------------------------------------------------------------------------------------

TINY = TESTING / "tiny-bert-mean"
TEXTS = json.loads((TESTING / "texts.json").read_text())


@pytest.fixture(scope="module")
def tiny_model_id(opensearch_url: str) -> str:
    return PretrainedModelUploader(opensearch_url, str(TINY), source="client").run()["model_id"]


@pytest.fixture(scope="module")
def tiny_local() -> LocalOnnxEmbedder:
    return LocalOnnxEmbedder(str(TINY))


@pytest.mark.integration
def test_document_embedder_matches_the_local_embedder(opensearch_url, tiny_model_id, tiny_local):
    docs = [Document(content=text) for text in TEXTS if text] + [Document(content=None)]
    embedder = OpenSearchMLDocumentEmbedder(opensearch_url, tiny_model_id, batch_size=8, max_concurrency=3)
    result = embedder.run(documents=docs)
    embedded = np.array([d.embedding for d in result["documents"][:-1]], dtype=np.float32)
    expected = tiny_local.embed([d.content for d in docs[:-1]])
    assert np.abs(embedded - expected).max() <= 1e-5
    assert result["meta"]["documents_embedded"] == len(docs) - 1
    assert result["meta"]["documents_without_content"] == 1
    embedder.close()


@pytest.mark.integration
async def test_run_async_uses_the_async_client_and_agrees(opensearch_url, tiny_model_id, tiny_local):
    docs = [Document(content=text) for text in TEXTS[:20] if text]
    embedder = OpenSearchMLDocumentEmbedder(opensearch_url, tiny_model_id, batch_size=4, max_concurrency=2)
    result = await embedder.run_async(documents=docs)
    assert embedder._backend.get()._client is None  # only the async client was built
    expected = tiny_local.embed([d.content for d in docs])
    assert np.abs(np.array([d.embedding for d in result["documents"]]) - expected).max() <= 1e-5
    text_embedder = OpenSearchMLTextEmbedder(opensearch_url, tiny_model_id)
    query = await text_embedder.run_async(text=TEXTS[0])
    assert np.abs(np.array(query["embedding"]) - expected[0]).max() <= 1e-5
    await embedder.close_async()
    await text_embedder.close_async()


@pytest.mark.integration
def test_throttling_is_retried_with_backoff_through_a_fault_proxy(opensearch_url, tiny_model_id, tiny_local):
    with FaultProxy(opensearch_url, failures=3, status=429) as proxy:
        embedder = OpenSearchMLEmbedder(
            proxy.url, tiny_model_id, batch_size=4, retry=RetryPolicy(initial_backoff=0.05, max_attempts=5)
        )
        vectors = embedder.embed(TEXTS[:4])
    assert proxy.injected == 3 and proxy.forwarded == 1
    assert np.abs(vectors - tiny_local.embed(TEXTS[:4])).max() <= 1e-5


@pytest.mark.integration
def test_persistent_503_leaves_documents_unembedded_but_returned(opensearch_url, tiny_model_id):
    docs = [Document(content=text) for text in TEXTS[:6] if text]
    with FaultProxy(opensearch_url, failures=2, status=503) as proxy:
        embedder = OpenSearchMLDocumentEmbedder(
            proxy.url, tiny_model_id, batch_size=100, max_retries=1, progress_bar=False
        )
        embedder._backend.get().retry = RetryPolicy(max_attempts=2, initial_backoff=0.01)
        result = embedder.run(documents=docs)
    assert [d.embedding for d in result["documents"]] == [None] * len(docs)
    assert result["meta"]["documents_failed"] == len(docs)


@pytest.mark.integration
def test_undeployed_model_error_says_so_and_names_the_uploader(opensearch_url, tiny_model_id):
    client = MLCommonsClient(OpenSearch(opensearch_url))
    client.undeploy(tiny_model_id)
    try:
        with pytest.raises(ModelNotDeployedError, match="PretrainedModelUploader"):
            OpenSearchMLEmbedder(opensearch_url, tiny_model_id).embed(["hello"])
    finally:
        client.deploy(tiny_model_id)
