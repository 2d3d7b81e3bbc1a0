"""OpenSearchMLSparseText/DocumentEmbedder: the node's sparse maps as SparseEmbeddings (issue 11, item 4)."""

import asyncio
import json
from typing import Any

import pytest
from fault_proxy import FaultProxy
from haystack import Document, Pipeline
from haystack.utils import Secret

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalSparseTextEmbedder,
    OpenSearchMLSparseDocumentEmbedder,
    OpenSearchMLSparseTextEmbedder,
)
from opensearch_pretrained_haystack.cluster import RetryPolicy
from opensearch_pretrained_haystack.cluster.errors import TransientServerError
from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from tests.sparse_models import SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR, deployed_sparse_model

VOCABULARY = str(SPARSE_TOKENIZER_DIR)
ENCODER_REFS: dict[str, Any] = json.loads((SPARSE_ENCODER_DIR / "references.json").read_text("utf-8"))
TOKENIZER_REFS: dict[str, Any] = json.loads((SPARSE_TOKENIZER_DIR / "references.json").read_text("utf-8"))
AUTH = (Secret.from_env_var("OS_USER"), Secret.from_env_var("OS_PASSWORD"))


def assert_same_map(ours: dict[str, float], node: dict[str, float]) -> None:
    assert ours.keys() == node.keys()
    assert all(abs(ours[k] - node[k]) <= 1e-6 for k in ours)


def test_init_is_light_and_to_dict_round_trips_through_yaml_without_secret_values(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OS_USER", "admin")
    monkeypatch.setenv("OS_PASSWORD", "s3cret-value")
    pipeline = Pipeline()
    document = OpenSearchMLSparseDocumentEmbedder(
        "https://localhost:9200", "m", http_auth=AUTH, vocabulary=VOCABULARY, batch_size=7, progress_bar=False
    )
    assert document._backend.predictor is None and document._vocabulary.vocabulary is None
    pipeline.add_component("docs", document)
    pipeline.add_component(
        "query", OpenSearchMLSparseTextEmbedder("https://localhost:9200", "q", task_type="SPARSE_TOKENIZE")
    )
    text = pipeline.dumps()
    assert "s3cret-value" not in text
    loaded = Pipeline.loads(text)
    for name in ("docs", "query"):
        assert loaded.get_component(name).to_dict() == pipeline.get_component(name).to_dict()
    assert loaded.get_component("query").task_type == "SPARSE_TOKENIZE"


def test_wrong_inputs_name_the_sibling() -> None:
    with pytest.raises(TypeError, match="OpenSearchMLSparseDocumentEmbedder"):
        OpenSearchMLSparseTextEmbedder("http://localhost:9200", "m").run(text=[Document(content="x")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="OpenSearchMLSparseTextEmbedder"):
        OpenSearchMLSparseDocumentEmbedder("http://localhost:9200", "m").run(documents="x")  # type: ignore[arg-type]


def test_unknown_task_type_is_refused() -> None:
    with pytest.raises(ValueError, match="SPARSE_ENCODING, SPARSE_TOKENIZE"):
        OpenSearchMLSparseEncoder("http://localhost:9200", "m", task_type="TEXT_EMBEDDING")  # type: ignore[arg-type]


@pytest.mark.integration
def test_the_document_embedder_returns_the_nodes_maps_for_every_text(opensearch_url: str) -> None:
    model_id = deployed_sparse_model(opensearch_url, "encoder")
    documents = [Document(content=text) for text in ENCODER_REFS["texts"]]
    embedder = OpenSearchMLSparseDocumentEmbedder(
        opensearch_url, model_id, vocabulary=VOCABULARY, batch_size=8, max_concurrency=2, progress_bar=False
    )
    result = embedder.run(documents=documents)
    with_content = [i for i, text in enumerate(ENCODER_REFS["texts"]) if text]
    assert result["meta"]["documents_embedded"] == len(with_content)
    assert result["meta"]["documents_without_content"] == len(documents) - len(with_content)
    for i in with_content:
        assert_same_map(embedder.to_token_weights(result["documents"][i].sparse_embedding), ENCODER_REFS["node"][i])
    assert result["documents"][0].sparse_embedding is None  # "" has no content: returned unchanged


@pytest.mark.integration
def test_the_text_embedder_on_the_tokenizer_equals_the_local_one(opensearch_url: str) -> None:
    model_id = deployed_sparse_model(opensearch_url, "tokenizer")
    remote = OpenSearchMLSparseTextEmbedder(
        opensearch_url, model_id, task_type="SPARSE_TOKENIZE", vocabulary=VOCABULARY
    )
    local = LocalSparseTextEmbedder(model=VOCABULARY)
    for text, node in zip(TOKENIZER_REFS["texts"][3:12], TOKENIZER_REFS["node"][3:12], strict=True):
        embedding = remote.run(text=text)["sparse_embedding"]
        assert_same_map(remote.to_token_weights(embedding), node)
        assert embedding.indices == local.run(text=text)["sparse_embedding"].indices


@pytest.mark.integration
def test_run_async_agrees_with_run(opensearch_url: str) -> None:
    model_id = deployed_sparse_model(opensearch_url, "encoder")
    documents = [Document(content=text) for text in ENCODER_REFS["texts"][3:10]]
    embedder = OpenSearchMLSparseDocumentEmbedder(
        opensearch_url, model_id, vocabulary=VOCABULARY, batch_size=2, progress_bar=False
    )

    async def both() -> dict[str, Any]:
        try:
            return await embedder.run_async(documents=documents)
        finally:
            await embedder.close_async()

    assert asyncio.run(both())["documents"] == embedder.run(documents=documents)["documents"]


@pytest.mark.integration
def test_throttling_is_retried_and_a_failed_batch_is_kept_and_counted(opensearch_url: str) -> None:
    model_id = deployed_sparse_model(opensearch_url, "encoder")
    documents = [Document(content=text) for text in ENCODER_REFS["texts"][3:9]]
    with FaultProxy(opensearch_url, failures=2, status=429) as proxy:
        encoder = OpenSearchMLSparseEncoder(proxy.url, model_id, batch_size=6, retry=RetryPolicy(initial_backoff=0.02))
        maps = encoder.encode([d.content or "" for d in documents])
    assert proxy.injected == 2 and proxy.forwarded == 1
    for ours, node in zip(maps, ENCODER_REFS["node"][3:9], strict=True):
        assert_same_map(ours, node)

    with FaultProxy(opensearch_url, failures=2, status=503) as proxy:
        embedder = OpenSearchMLSparseDocumentEmbedder(
            proxy.url,
            model_id,
            vocabulary=VOCABULARY,
            batch_size=3,
            max_concurrency=1,
            max_retries=0,
            progress_bar=False,
        )
        result = embedder.run(documents=documents)
    assert result["meta"]["documents_failed"] == 6 and result["meta"]["documents_embedded"] == 0
    assert [d.sparse_embedding for d in result["documents"]] == [None] * 6
    assert [d.id for d in result["documents"]] == [d.id for d in documents]

    with FaultProxy(opensearch_url, failures=1, status=503) as proxy:
        embedder = OpenSearchMLSparseDocumentEmbedder(
            proxy.url, model_id, vocabulary=VOCABULARY, max_retries=0, raise_on_failure=True, progress_bar=False
        )
        with pytest.raises(TransientServerError):
            embedder.run(documents=documents)
