import json
import uuid

import pytest
from haystack import Document, Pipeline
from haystack_integrations.components.retrievers.opensearch import OpenSearchEmbeddingRetriever
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained import LocalOnnxTextEmbedder
from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker
from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralRetriever
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.indices.neural import (
    create_hybrid_search_pipeline,
    hybrid_search_pipeline_body,
    neural_document_store,
)
from opensearch_pretrained_haystack.indices.rerank import (
    create_rerank_search_pipeline,
    rerank_ext,
    rerank_knn_query,
    rerank_search_pipeline_body,
)
from tests.conftest import TESTING

TINY = TESTING / "tiny-cross-encoder"
# Whitespace-only passages are left out: 2.19.1's text_embedding ingest processor refuses them ("empty string value").
PASSAGES = sorted({p["passage"] for p in json.loads((TINY / "pairs.json").read_text("utf-8")) if p["passage"].strip()})


def test_pipeline_body_is_the_rerank_processor_on_content_by_default():
    assert rerank_search_pipeline_body("m")["response_processors"] == [
        {"rerank": {"ml_opensearch": {"model_id": "m"}, "context": {"document_fields": ["content"]}}}
    ]
    assert rerank_ext("q") == {"rerank": {"query_context": {"query_text": "q"}}}
    with pytest.raises(ValueError, match="document_fields"):
        rerank_search_pipeline_body("m", document_fields="content")


def test_a_combined_pipeline_normalizes_first_and_reranks_last():
    hybrid = hybrid_search_pipeline_body()
    body = rerank_search_pipeline_body("m", combined_with=hybrid)
    assert body["phase_results_processors"] == hybrid["phase_results_processors"]
    assert body["response_processors"] == rerank_search_pipeline_body("m")["response_processors"]
    assert body["description"].startswith(hybrid["description"])


def test_the_knn_query_for_opensearch_haystack_names_the_pipeline_and_carries_the_text():
    assert rerank_knn_query("q", search_pipeline="p", k=7) == {
        "query": {"knn": {"embedding": {"vector": "$query_embedding", "k": 7}}},
        "ext": {"rerank": {"query_context": {"query_text": "q"}}},
        "search_pipeline": "p",
    }
    assert rerank_knn_query("q", search_pipeline="p", k=7, filtered=True)["query"]["knn"]["embedding"]["filter"] == (
        "$filters"
    )


def unconnected_store() -> OpenSearchDocumentStore:
    return OpenSearchDocumentStore(hosts="http://localhost:1", index="docs")


def test_the_neural_retriever_names_the_rerank_pipeline_and_sends_the_query_text():
    retriever = OpenSearchNeuralRetriever(document_store=unconnected_store(), model_id="m1", search_pipeline="rr")
    body, params = retriever._request("cook rice", None, 3)
    assert params == {"search_pipeline": "rr"} and body["ext"] == rerank_ext("cook rice")
    assert body["query"]["neural"]["embedding"]["query_text"] == "cook rice"
    both = OpenSearchNeuralRetriever(
        document_store=unconnected_store(), model_id="m1", hybrid_search_pipeline="hr", search_pipeline="hr"
    )
    body, params = both._request("q", None, None)
    assert params == {"search_pipeline": "hr"} and "hybrid" in body["query"] and body["ext"] == rerank_ext("q")
    with pytest.raises(ValueError, match="one search pipeline"):
        OpenSearchNeuralRetriever(
            document_store=unconnected_store(), model_id="m1", hybrid_search_pipeline="h", search_pipeline="r"
        )
    plain_body, _ = OpenSearchNeuralRetriever(document_store=unconnected_store(), model_id="m1")._request("q", None, 1)
    assert "ext" not in plain_body


def test_the_neural_retrievers_rerank_pipeline_survives_yaml():
    pipeline = Pipeline()
    pipeline.add_component(
        "retriever", OpenSearchNeuralRetriever(document_store=unconnected_store(), model_id="m1", search_pipeline="rr")
    )
    yaml = pipeline.dumps()
    loaded = Pipeline.loads(yaml)
    assert loaded.get_component("retriever").search_pipeline == "rr" and loaded.dumps() == yaml


@pytest.mark.integration
def test_the_cluster_reranks_with_the_order_and_scores_of_the_local_ranker(opensearch_url, index_name):
    client = OpenSearch(opensearch_url)
    model_id = PretrainedModelUploader(opensearch_url, str(TINY / "onnx"), source="client").run()["model_id"]
    pipeline_id = f"{index_name}-rerank"
    create_rerank_search_pipeline(client, pipeline_id, model_id)
    try:
        for number, text in enumerate(PASSAGES):
            client.index(index=index_name, id=str(number), body={"content": text})
        client.indices.refresh(index=index_name)
        query = "A man is playing a guitar."
        response = client.search(
            index=index_name,
            params={"search_pipeline": pipeline_id},
            body={"query": {"match_all": {}}, "size": len(PASSAGES), "ext": rerank_ext(query)},
        )
        hits = response["hits"]["hits"]
        local = LocalOnnxRanker(model=str(TINY / "onnx"), top_k=len(PASSAGES)).run(
            query=query, documents=[Document(content=text) for text in PASSAGES]
        )["documents"]
        assert [hit["_source"]["content"] for hit in hits] == [doc.content for doc in local]
        assert max(abs(hit["_score"] - doc.score) for hit, doc in zip(hits, local, strict=True)) <= 1e-5
    finally:
        client.search_pipeline.delete(id=pipeline_id)


@pytest.mark.integration
def test_an_embedding_model_is_refused_with_what_the_processor_needs(opensearch_url, minilm_model_id):
    with pytest.raises(ModelInputError, match="TEXT_SIMILARITY"):
        create_rerank_search_pipeline(OpenSearch(opensearch_url), "never-created", minilm_model_id)


# --- One request retrieves and reranks: each retriever through the rerank pipeline vs the local ranker ---------

QUERY = "A man is playing a guitar."


@pytest.fixture(scope="module")
def rerank_setup(opensearch_url, minilm_model_id):
    """An index embedded by the cluster (all-MiniLM-L6-v2), the tiny cross-encoder deployed, and three search
    pipelines: hybrid, rerank, and hybrid-then-rerank."""
    index = f"test-rerank-retrievers-{uuid.uuid4().hex[:8]}"
    store = neural_document_store(
        get_model("all-MiniLM-L6-v2", "1.0.1"), opensearch_url, index, minilm_model_id, number_of_replicas=0
    )
    topics = ("odd", "even")
    store.write_documents(
        [Document(id=str(n), content=text, meta={"topic": topics[n % 2]}) for n, text in enumerate(PASSAGES)],
        refresh=True,
    )
    client = OpenSearch(opensearch_url)
    cross_encoder = PretrainedModelUploader(opensearch_url, str(TINY / "onnx"), source="client").run()["model_id"]
    pipelines = {"hybrid": f"{index}-hybrid", "rerank": f"{index}-rerank", "both": f"{index}-hybrid-rerank"}
    create_hybrid_search_pipeline(client, pipelines["hybrid"])
    create_rerank_search_pipeline(client, pipelines["rerank"], cross_encoder)
    create_rerank_search_pipeline(client, pipelines["both"], cross_encoder, combined_with=hybrid_search_pipeline_body())
    yield store, pipelines
    client.indices.delete(index=index, ignore_unavailable=True)
    client.ingest.delete_pipeline(id=f"{index}-embedding", ignore=[404])
    for pipeline_id in pipelines.values():
        client.search_pipeline.delete(id=pipeline_id, ignore=[404])


def assert_reranked_like_the_local_ranker(candidates: list[Document], reranked: list[Document]) -> None:
    """The cluster's reranked hits are the local ranker's ranking of the same candidates: order and scores."""
    assert len(candidates) >= 5 and len(reranked) == len(candidates)
    local = LocalOnnxRanker(model=str(TINY / "onnx"), top_k=len(candidates), progress_bar=False).run(
        query=QUERY, documents=candidates
    )["documents"]
    assert [doc.id for doc in reranked] == [doc.id for doc in local]
    assert max(abs(cluster.score - mine.score) for cluster, mine in zip(reranked, local, strict=True)) <= 1e-5


@pytest.mark.integration
def test_opensearch_haystacks_embedding_retriever_reranks_in_the_same_request(rerank_setup):
    store, pipelines = rerank_setup
    top_k = 8
    embedder = LocalOnnxTextEmbedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)
    vector = embedder.run(text=QUERY)["embedding"]
    retriever = OpenSearchEmbeddingRetriever(document_store=store, top_k=top_k)
    candidates = retriever.run(query_embedding=vector)["documents"]
    query = rerank_knn_query(QUERY, search_pipeline=pipelines["rerank"], k=top_k)
    reranked = retriever.run(query_embedding=vector, custom_query=query)["documents"]
    assert_reranked_like_the_local_ranker(candidates, reranked)
    odd = {"field": "meta.topic", "operator": "==", "value": "odd"}
    filtered = rerank_knn_query(QUERY, search_pipeline=pipelines["rerank"], k=top_k, filtered=True)
    reranked = retriever.run(query_embedding=vector, filters=odd, custom_query=filtered)["documents"]
    assert {doc.meta["topic"] for doc in reranked} == {"odd"}
    inside_knn = OpenSearchEmbeddingRetriever(document_store=store, top_k=top_k, efficient_filtering=True)
    assert_reranked_like_the_local_ranker(inside_knn.run(query_embedding=vector, filters=odd)["documents"], reranked)


@pytest.mark.integration
def test_the_neural_retriever_reranks_in_the_same_request(rerank_setup, minilm_model_id):
    store, pipelines = rerank_setup
    plain = OpenSearchNeuralRetriever(document_store=store, model_id=minilm_model_id, top_k=8)
    reranking = OpenSearchNeuralRetriever(
        document_store=store, model_id=minilm_model_id, top_k=8, search_pipeline=pipelines["rerank"]
    )
    assert_reranked_like_the_local_ranker(plain.run(query=QUERY)["documents"], reranking.run(query=QUERY)["documents"])


@pytest.mark.integration
async def test_the_neural_retriever_reranks_asynchronously_too(rerank_setup, minilm_model_id):
    store, pipelines = rerank_setup
    reranking = OpenSearchNeuralRetriever(
        document_store=store, model_id=minilm_model_id, top_k=8, search_pipeline=pipelines["rerank"]
    )
    result = await reranking.run_async(query=QUERY)
    assert [doc.id for doc in result["documents"]] == [doc.id for doc in reranking.run(query=QUERY)["documents"]]
    await store.close_async()


@pytest.mark.integration
def test_the_hybrid_retriever_normalizes_then_reranks_in_the_same_request(rerank_setup, minilm_model_id):
    store, pipelines = rerank_setup
    hybrid = OpenSearchNeuralRetriever(
        document_store=store, model_id=minilm_model_id, top_k=8, hybrid_search_pipeline=pipelines["hybrid"]
    )
    both = OpenSearchNeuralRetriever(
        document_store=store, model_id=minilm_model_id, top_k=8, hybrid_search_pipeline=pipelines["both"],
        search_pipeline=pipelines["both"],
    )  # fmt: skip
    assert_reranked_like_the_local_ranker(hybrid.run(query=QUERY)["documents"], both.run(query=QUERY)["documents"])
    assert adapter.index_name(store).startswith("test-rerank-retrievers-")
