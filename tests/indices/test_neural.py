"""Neural search set-up: request bodies, and on the real node the issue's bar — the cluster's ingest pipeline
stores the same vectors as LocalOnnxDocumentEmbedder, and neural queries rank like local query embeddings."""

import inspect
import json
import time

import numpy as np
import pytest
from haystack import Document
from haystack_integrations.components.retrievers.opensearch import OpenSearchEmbeddingRetriever
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalOnnxDocumentEmbedder,
    LocalOnnxTextEmbedder,
)
from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralRetriever
from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    DEFAULT_BM25_WEIGHT,
    DEFAULT_FUSION,
    DEFAULT_PER_SOURCE,
)
from opensearch_pretrained_haystack.artifacts import load_model_dir
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import MLCommonsClient, ModelNotDeployedError, UnsupportedServerError
from opensearch_pretrained_haystack.indices.knn import IndexMismatchError, document_store_for
from opensearch_pretrained_haystack.indices.neural import (
    create_hybrid_search_pipeline,
    create_ingest_pipeline,
    hybrid_search_pipeline_body,
    ingest_pipeline_body,
    neural_document_store,
    rrf_search_pipeline_body,
)
from tests.conftest import REFERENCE, TESTING

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
QUERIES = [
    "a dog in a boat",
    "church bombing in Nigeria",
    "chief technology officer of a financial company",
    "how to study effectively",
    "cows grazing on a farm",
    "a man playing the guitar",
    "stock market prices fell",
    "people eating at a restaurant",
    "an election and the president",
    "a woman is slicing vegetables",
]


def test_ingest_pipeline_maps_content_to_the_store_vector_field():
    body = ingest_pipeline_body("m1", batch_size=8)
    assert body["processors"] == [
        {"text_embedding": {"model_id": "m1", "field_map": {"content": "embedding"}, "batch_size": 8}}
    ]
    assert "batch_size" not in ingest_pipeline_body("m1")["processors"][0]["text_embedding"]


def test_the_cluster_pipeline_fuses_by_default_as_the_embedded_store_does():
    """The defaults chosen on SciFact train (scoring) are the cluster pipeline's too: one algorithm, one weighting."""
    default = hybrid_search_pipeline_body()["phase_results_processors"][0]["normalization-processor"]
    assert default["normalization"] == {"technique": DEFAULT_FUSION}
    assert default["combination"]["parameters"]["weights"] == [DEFAULT_BM25_WEIGHT, 1.0 - DEFAULT_BM25_WEIGHT]
    assert inspect.signature(create_hybrid_search_pipeline).parameters["fusion"].default == DEFAULT_FUSION
    assert not DEFAULT_PER_SOURCE  # the cluster's hybrid query fuses passages


def test_hybrid_pipeline_normalizes_min_max_and_weights_bm25_then_neural():
    processor = hybrid_search_pipeline_body((0.2, 0.8))["phase_results_processors"][0]["normalization-processor"]
    assert processor["normalization"] == {"technique": "min_max"}
    assert processor["combination"] == {"technique": "arithmetic_mean", "parameters": {"weights": [0.2, 0.8]}}
    for bad in [(0.5, 0.6), (1.0,), (-0.5, 1.5)]:
        with pytest.raises(ValueError, match="sum to 1"):
            hybrid_search_pipeline_body(bad)


# --- On the real node ------------------------------------------------------------------------------------------


@pytest.fixture
def neural_index(opensearch_url, index_name):
    """A second throw-away index (beside `index_name`) and its ingest pipeline, removed afterwards."""
    name = f"{index_name}-neural"
    yield name
    client = OpenSearch(hosts=opensearch_url)
    client.indices.delete(index=name, ignore_unavailable=True)
    client.ingest.delete_pipeline(id=f"{name}-embedding", ignore=[404])


def corpus() -> list[Document]:
    texts = json.loads((REFERENCE / "texts.json").read_text())
    return [Document(content=text) for text in dict.fromkeys(texts) if text.strip()]


@pytest.mark.integration
def test_ingest_pipeline_embeds_like_the_local_embedder_and_ranks_the_same(
    opensearch_url, minilm_model_id, index_name, neural_index
):
    docs = corpus()
    local_store = document_store_for(MINILM, opensearch_url, index_name, number_of_replicas=0, return_embedding=True)
    embedded = LocalOnnxDocumentEmbedder(model=MINILM.name, version=MINILM.version).run(documents=docs)["documents"]
    local_store.write_documents(embedded, refresh=True)

    neural_store = neural_document_store(
        MINILM, opensearch_url, neural_index, minilm_model_id, number_of_replicas=0, return_embedding=True
    )
    started = time.perf_counter()
    neural_store.write_documents(docs, refresh=True)  # no embeddings: the cluster adds them
    print(f"ingest pipeline: {len(docs)} documents in {time.perf_counter() - started:.2f} s")

    local_vectors = {d.id: d.embedding for d in local_store.filter_documents()}
    cluster_vectors = {d.id: d.embedding for d in neural_store.filter_documents()}
    assert len(cluster_vectors) == len(docs) == len(local_vectors)
    ids = sorted(local_vectors)
    diff = np.abs(np.array([local_vectors[i] for i in ids]) - np.array([cluster_vectors[i] for i in ids])).max()
    print(f"max abs diff over {len(ids)} documents: {diff:.2e}")
    assert diff <= 1e-5

    text_embedder = LocalOnnxTextEmbedder(model=MINILM.name, version=MINILM.version)
    # 100 candidates of 288 documents: both HNSW searches are exact, so any difference would be the vectors'.
    knn = OpenSearchEmbeddingRetriever(document_store=local_store, top_k=10, search_kwargs={"k": 100})
    neural = OpenSearchNeuralRetriever(
        document_store=neural_store, model_id=minilm_model_id, top_k=10, num_candidates=100
    )
    for query in QUERIES:
        expected = knn.run(query_embedding=text_embedder.run(text=query)["embedding"])["documents"]
        found = neural.run(query=query)["documents"]
        assert [d.id for d in found] == [d.id for d in expected], query
        assert [d.score for d in found] == pytest.approx([d.score for d in expected], abs=1e-5)


@pytest.mark.integration
def test_a_model_that_is_not_deployed_is_refused_naming_the_uploader(opensearch_url):
    """Registered under a private name (so no other test reuses it), never deployed, then deleted."""
    ml = MLCommonsClient(OpenSearch(hosts=opensearch_url))
    artifact = load_model_dir(str(TESTING / "tiny-bert-mean"))
    model_id = ml.upload_model(artifact.zip_path, {**artifact.config, "name": "test-neural-never-deployed"})
    try:
        with pytest.raises(ModelNotDeployedError, match="PretrainedModelUploader"):
            create_ingest_pipeline(ml.client, "test-never-used", model_id)
    finally:
        ml.delete_model(model_id)


@pytest.mark.integration
def test_a_model_of_another_dimension_is_refused_before_anything_is_written(
    opensearch_url, minilm_model_id, index_name
):
    mpnet = get_model("all-mpnet-base-v2")
    assert mpnet.dimension != MINILM.dimension
    with pytest.raises(IndexMismatchError, match="384-dimensional"):
        neural_document_store(mpnet, opensearch_url, index_name, minilm_model_id, number_of_replicas=0)
    assert not OpenSearch(hosts=opensearch_url).ingest.get_pipeline(id=f"{index_name}-embedding", ignore=[404])


@pytest.mark.integration
def test_hybrid_search_pipeline_is_created_on_the_server(opensearch_url):
    client = OpenSearch(hosts=opensearch_url)
    create_hybrid_search_pipeline(client, "test-hybrid-pipeline", weights=(0.4, 0.6))
    try:
        stored = client.search_pipeline.get(id="test-hybrid-pipeline")["test-hybrid-pipeline"]
        weights = stored["phase_results_processors"][0]["normalization-processor"]["combination"]["parameters"]
        assert weights["weights"] == [0.4, 0.6]
    finally:
        client.search_pipeline.delete(id="test-hybrid-pipeline")


# --- Reciprocal rank fusion beside min-max (issue 9 §2) ----------------------------------------------------------


def test_rrf_pipeline_uses_the_score_ranker_with_its_rank_constant():
    processor = rrf_search_pipeline_body(rank_constant=10)["phase_results_processors"][0]
    assert processor == {"score-ranker-processor": {"combination": {"technique": "rrf", "rank_constant": 10}}}
    weighted = rrf_search_pipeline_body(weights=(0.4, 0.6))["phase_results_processors"][0]["score-ranker-processor"]
    assert weighted["combination"] == {"technique": "rrf", "rank_constant": 60, "parameters": {"weights": [0.4, 0.6]}}
    old = rrf_search_pipeline_body(rank_constant=10, in_parameters=True)["phase_results_processors"][0]
    assert old["score-ranker-processor"]["combination"] == {"technique": "rrf", "parameters": {"rank_constant": 10}}
    for bad in (0, 10_001, 2.5, True):
        with pytest.raises(ValueError, match="rank_constant"):
            rrf_search_pipeline_body(rank_constant=bad)
    with pytest.raises(ValueError, match="RRF weights"):
        rrf_search_pipeline_body(weights=(1.5, 0.5))


@pytest.mark.integration
def test_a_weighted_rrf_is_refused_by_a_server_before_3_1(opensearch_url):
    client = OpenSearch(hosts=opensearch_url)
    profile = MLCommonsClient(client).server_profile()
    if profile.version >= (3, 1, 0):
        create_hybrid_search_pipeline(client, "test-weighted-rrf", fusion="rrf", weights=(0.4, 0.6))
        client.search_pipeline.delete(id="test-weighted-rrf")
    else:
        with pytest.raises(UnsupportedServerError, match=r"3\.1\.0 or newer"):
            create_hybrid_search_pipeline(client, "test-weighted-rrf", fusion="rrf", weights=(0.4, 0.6))
        assert not client.search_pipeline.get(id="test-weighted-rrf", ignore=[404]).get("test-weighted-rrf")


def test_an_unknown_fusion_is_refused_before_the_cluster_is_asked():
    with pytest.raises(ValueError, match="'z_score' or 'rrf'"):
        create_hybrid_search_pipeline(None, "p", fusion="mean")  # type: ignore[arg-type]


RRF_DOCUMENTS = [
    "Risotto needs arborio rice, stock added slowly and constant stirring.",
    "Fried rice is cooked rice stirred in a wok with egg and soy sauce.",
    "A carbonara is made with eggs, pecorino, guanciale and pepper.",
    "Rice paddies in Asia are flooded fields where rice plants grow.",
    "OpenSearch runs approximate k-NN vector search with HNSW graphs.",
    "The James Webb telescope observes the early universe in infrared.",
    "Bake the bread at 220 degrees until the crust is brown.",
]


@pytest.mark.integration
def test_the_same_hybrid_query_through_min_max_and_rrf_returns_the_hits_rrf_scoring_by_rank(
    opensearch_url, minilm_model_id, index_name
):
    """RRF scores are recomputed here from the two sub-queries run alone: sum of 1/(k + rank) per document."""
    store = neural_document_store(MINILM, opensearch_url, index_name, minilm_model_id, number_of_replicas=0)
    store.write_documents([Document(content=text) for text in RRF_DOCUMENTS], refresh=True)
    client = OpenSearch(hosts=opensearch_url)
    text, k = "how do I cook rice?", 5
    match = {"match": {"content": {"query": text}}}
    neural = {"neural": {"embedding": {"query_text": text, "model_id": minilm_model_id, "k": len(RRF_DOCUMENTS)}}}

    def hits(query: dict, pipeline: str | None = None) -> list[tuple[str, float]]:
        params = {"search_pipeline": pipeline} if pipeline else {}
        found = client.search(index=index_name, body={"query": query, "size": 10, "_source": False}, params=params)
        return [(hit["_id"], hit["_score"]) for hit in found["hits"]["hits"]]

    sub_rankings = [[doc for doc, _ in hits(match)], [doc for doc, _ in hits(neural)]]
    assert 0 < len(sub_rankings[0]) < len(RRF_DOCUMENTS) and len(sub_rankings[1]) == len(RRF_DOCUMENTS)
    expected = {}
    for ranking in sub_rankings:
        for rank, doc in enumerate(ranking, start=1):
            expected[doc] = expected.get(doc, 0.0) + 1.0 / (k + rank)
    hybrid = {"hybrid": {"queries": [match, neural]}}
    pipelines = {"min_max": f"{index_name}-min-max", "rrf": f"{index_name}-rrf"}
    try:
        create_hybrid_search_pipeline(client, pipelines["min_max"])
        create_hybrid_search_pipeline(client, pipelines["rrf"], fusion="rrf", rank_constant=k)
        min_max, rrf = hits(hybrid, pipelines["min_max"]), hits(hybrid, pipelines["rrf"])
        assert {doc for doc, _ in min_max} == {doc for doc, _ in rrf} == set(expected)
        assert dict(rrf) == pytest.approx(expected, abs=1e-6)
        assert [score for _, score in rrf] == pytest.approx(sorted(expected.values(), reverse=True), abs=1e-6)
        assert all(0 <= score <= 1 for _, score in min_max)
        print(f"rrf k={k}: {rrf}")
    finally:
        for pipeline in pipelines.values():
            client.search_pipeline.delete(id=pipeline, ignore=[404])
        client.ingest.delete_pipeline(id=f"{index_name}-embedding", ignore=[404])
