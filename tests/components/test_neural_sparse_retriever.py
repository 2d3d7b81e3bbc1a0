"""OpenSearchNeuralSparseRetriever (issue 11, item 5): request bodies, serialization, and on the real node filters,
run_async and hybrid dense + sparse search through the normalizing search pipeline."""

import uuid

import pytest
from haystack import Document, Pipeline
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.types import FilterPolicy
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch
from tests.indices.test_sparse import cluster_queries

from haystack_integrations.components.retrievers.opensearch_pretrained import (
    OpenSearchNeuralRetriever,
    OpenSearchNeuralSparseRetriever,
)
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import ModelNotFoundError, RequestRejectedError
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.indices.neural import create_hybrid_search_pipeline
from opensearch_pretrained_haystack.indices.sparse import sparse_document_store
from opensearch_pretrained_haystack.inference.sparse_tokenizer import load_vocabulary
from tests.sparse_models import SPARSE_TOKENIZER_DIR, deployed_sparse_model

FOOD = {"field": "meta.topic", "operator": "==", "value": "food"}
VOCABULARY = str(SPARSE_TOKENIZER_DIR)


def unconnected_store(**kwargs) -> OpenSearchDocumentStore:
    return OpenSearchDocumentStore(hosts="http://localhost:1", index="docs", **kwargs)


# --- Request bodies (no cluster) ---------------------------------------------------------------------------------


def test_query_text_is_encoded_by_the_cluster_model():
    body, params = OpenSearchNeuralSparseRetriever(document_store=unconnected_store(), model_id="m1")._request(
        "risotto", None, None, 5
    )
    assert params == {}
    assert body == {
        "query": {"neural_sparse": {"sparse_embedding": {"query_text": "risotto", "model_id": "m1"}}},
        "size": 5,
        "_source": {"excludes": ["sparse_embedding", "embedding"]},
    }


def test_a_local_embedding_becomes_query_tokens_and_filters_wrap_it_in_a_bool():
    vocabulary = load_vocabulary(VOCABULARY)
    embedding = vocabulary.to_sparse_embedding({"rice": 2.0, "stock": 0.5})
    retriever = OpenSearchNeuralSparseRetriever(
        document_store=unconnected_store(return_embedding=True), vocabulary=VOCABULARY, filters=FOOD
    )
    body, _ = retriever._request(None, embedding, None, None)
    assert body["query"] == {
        "bool": {
            "must": [{"neural_sparse": {"sparse_embedding": {"query_tokens": {"rice": 2.0, "stock": 0.5}}}}],
            "filter": {"bool": {"must": {"term": {"topic": "food"}}}},
        }
    }
    assert body["size"] == 10 and body["_source"] == {"excludes": ["sparse_embedding"]}
    ids = OpenSearchNeuralSparseRetriever(document_store=unconnected_store(), field_type="sparse_vector")
    tokens = ids._request(None, embedding, None, None)[0]["query"]["neural_sparse"]["sparse_embedding"]
    assert tokens == {"query_tokens": {str(i): v for i, v in zip(embedding.indices, embedding.values, strict=True)}}


def test_hybrid_is_dense_then_sparse_both_filtered_and_names_the_search_pipeline():
    retriever = OpenSearchNeuralSparseRetriever(
        document_store=unconnected_store(),
        model_id="sparse",
        hybrid_search_pipeline="hybrid",
        dense_model_id="dense",
        num_candidates=20,
        filters=FOOD,
    )
    body, params = retriever._request("q", None, None, 3)
    assert params == {"search_pipeline": "hybrid"}
    dense, sparse = body["query"]["hybrid"]["queries"]
    flt = {"bool": {"must": {"term": {"topic": "food"}}}}
    assert dense == {"neural": {"embedding": {"query_text": "q", "model_id": "dense", "k": 20, "filter": flt}}}
    assert sparse["bool"]["filter"] == flt


def test_what_cannot_work_is_refused_with_one_clear_line():
    with pytest.raises(TypeError, match="OpenSearchDocumentStore"):
        OpenSearchNeuralSparseRetriever(document_store=object())
    with pytest.raises(ValueError, match="go together"):
        OpenSearchNeuralSparseRetriever(document_store=unconnected_store(), hybrid_search_pipeline="h")
    retriever = OpenSearchNeuralSparseRetriever(document_store=unconnected_store())
    with pytest.raises(ValueError, match="query_sparse_embedding, or query text with the retriever's model_id"):
        retriever._request("text but no model", None, None, None)
    with pytest.raises(ValueError, match="vocabulary"):  # a rank_features index needs token strings
        retriever._request(None, SparseEmbedding(indices=[1000], values=[1.0]), None, None)


def test_init_is_light_and_to_dict_from_dict_and_yaml_round_trip():
    retriever = OpenSearchNeuralSparseRetriever(
        document_store=unconnected_store(return_embedding=True),
        model_id="m1",
        vocabulary=VOCABULARY,
        vocabulary_version="1.0.0",
        filters=FOOD,
        top_k=4,
        filter_policy=FilterPolicy.MERGE,
        hybrid_search_pipeline="hybrid",
        dense_model_id="d1",
        num_candidates=40,
        raise_on_failure=False,
    )
    assert retriever._vocabulary is None  # loaded at warm_up / first local query, not here
    data = retriever.to_dict()
    assert data["type"] == (
        "haystack_integrations.components.retrievers.opensearch_pretrained.neural_sparse_retriever."
        "OpenSearchNeuralSparseRetriever"
    )
    restored = OpenSearchNeuralSparseRetriever.from_dict(data)
    assert data["init_parameters"]["document_store"] == retriever.document_store.to_dict()  # data left unchanged
    settings = (
        "model_id",
        "vocabulary",
        "vocabulary_version",
        "field_type",
        "filters",
        "top_k",
        "filter_policy",
        "hybrid_search_pipeline",
        "dense_model_id",
        "num_candidates",
        "mirror",
        "cache_dir",
        "raise_on_failure",
    )
    assert [getattr(restored, name) for name in settings] == [getattr(retriever, name) for name in settings]
    pipeline = Pipeline()
    pipeline.add_component("retriever", retriever)
    yaml = pipeline.dumps()
    loaded = Pipeline.loads(yaml)  # Haystack's default loader trusts the haystack_integrations namespace
    assert isinstance(loaded.get_component("retriever"), OpenSearchNeuralSparseRetriever) and loaded.dumps() == yaml
    retriever.warm_up()
    vocabulary = retriever._vocabulary
    retriever.warm_up()
    assert vocabulary is not None and retriever._vocabulary is vocabulary


# --- On the real node --------------------------------------------------------------------------------------------

DOCUMENTS = [
    Document(content="Risotto needs arborio rice, stock added slowly and constant stirring.", meta={"topic": "food"}),
    Document(content="Bake the bread at 220 degrees until the crust is brown.", meta={"topic": "food"}),
    Document(content="A carbonara is made with eggs, pecorino, guanciale and pepper.", meta={"topic": "food"}),
    Document(content="OpenSearch runs approximate k-NN vector search with HNSW graphs.", meta={"topic": "search"}),
    Document(
        content="BM25 ranks documents by term frequency and inverse document frequency.", meta={"topic": "search"}
    ),
    Document(content="The James Webb telescope observes the early universe in infrared.", meta={"topic": "space"}),
]


@pytest.fixture(scope="module")
def hybrid_store(opensearch_url, minilm_model_id):
    """An index with both fields, filled at ingest by the dense model and the tiny sparse encoder."""
    index = f"test-sparse-retriever-{uuid.uuid4().hex[:8]}"
    encoder_id = deployed_sparse_model(opensearch_url, "encoder")
    store = sparse_document_store(
        opensearch_url,
        index,
        model_id=encoder_id,
        dense_model=get_model("all-MiniLM-L6-v2", "1.0.1"),
        dense_model_id=minilm_model_id,
        number_of_replicas=0,
    )
    store.write_documents(DOCUMENTS, refresh=True)
    client = OpenSearch(hosts=opensearch_url)
    for weights in ((1.0, 0.0), (0.0, 1.0), (0.5, 0.5)):
        create_hybrid_search_pipeline(client, f"{index}-{weights[0]}", weights=weights)
    yield store
    client.indices.delete(index=index, ignore_unavailable=True)
    client.ingest.delete_pipeline(id=f"{index}-sparse", ignore=[404])
    for weights in ((1.0, 0.0), (0.0, 1.0), (0.5, 0.5)):
        client.search_pipeline.delete(id=f"{index}-{weights[0]}", ignore=[404])


@pytest.fixture(scope="module")
def sparse_query(opensearch_url):
    """Words of the first document's map (the tiny encoder's weights are random), for the query tokenizer."""
    return cluster_queries(opensearch_url, deployed_sparse_model(opensearch_url, "encoder"), DOCUMENTS, count=1)[0]


@pytest.mark.integration
async def test_filters_top_k_and_run_async_agree(opensearch_url, hybrid_store, sparse_query):
    retriever = OpenSearchNeuralSparseRetriever(
        document_store=hybrid_store, model_id=deployed_sparse_model(opensearch_url, "tokenizer"), top_k=6
    )
    found = retriever.run(query=sparse_query)["documents"]
    assert found and found[0].id == DOCUMENTS[0].id and found[0].embedding is None
    assert found[0].sparse_embedding is None and found[0].meta == {"topic": "food"}
    filtered = retriever.run(query=sparse_query, filters=FOOD)["documents"]
    assert filtered and {d.meta["topic"] for d in filtered} == {"food"} and len(filtered) < len(found)
    assert len(retriever.run(query=sparse_query, top_k=1)["documents"]) == 1
    result = await retriever.run_async(query=sparse_query)
    assert [(d.id, d.score) for d in result["documents"]] == [(d.id, d.score) for d in found]
    await hybrid_store.close_async()


@pytest.mark.integration
def test_hybrid_search_mixes_the_dense_and_sparse_rankings_by_the_pipeline_weights(
    opensearch_url, hybrid_store, minilm_model_id, sparse_query
):
    index = adapter.index_name(hybrid_store)
    tokenizer_id = deployed_sparse_model(opensearch_url, "tokenizer")

    def hybrid(pipeline: str) -> list[Document]:
        retriever = OpenSearchNeuralSparseRetriever(
            document_store=hybrid_store,
            model_id=tokenizer_id,
            hybrid_search_pipeline=f"{index}-{pipeline}",
            dense_model_id=minilm_model_id,
            top_k=6,
            num_candidates=6,
        )
        return retriever.run(query=sparse_query)["documents"]

    dense = OpenSearchNeuralRetriever(document_store=hybrid_store, model_id=minilm_model_id, top_k=6, num_candidates=6)
    sparse = OpenSearchNeuralSparseRetriever(document_store=hybrid_store, model_id=tokenizer_id, top_k=6)
    dense_ids = [d.id for d in dense.run(query=sparse_query)["documents"]]
    sparse_ids = [d.id for d in sparse.run(query=sparse_query)["documents"]]
    # Min-max sends each side's lowest score to 0, so only the ranks above it are fixed by one side alone.
    assert [d.id for d in hybrid("1.0")][: len(dense_ids) - 1] == dense_ids[:-1]
    assert [d.id for d in hybrid("0.0")][: len(sparse_ids) - 1] == sparse_ids[:-1]
    mixed = hybrid("0.5")
    assert all(0.0 <= d.score <= 1.0 for d in mixed) and {d.id for d in mixed} == set(dense_ids) | set(sparse_ids)


@pytest.mark.integration
def test_failures_name_the_way_out(hybrid_store):
    with pytest.raises(ModelNotFoundError):
        OpenSearchNeuralSparseRetriever(document_store=hybrid_store, model_id="no-such-model").run(query="x")
    missing = OpenSearchNeuralSparseRetriever(
        document_store=hybrid_store,
        model_id="no-such-model",
        hybrid_search_pipeline="no-such-pipeline",
        dense_model_id="d",
    )
    with pytest.raises(RequestRejectedError, match="no-such-pipeline"):
        missing.run(query="x")
    quiet = OpenSearchNeuralSparseRetriever(
        document_store=hybrid_store, model_id="no-such-model", raise_on_failure=False
    )
    assert quiet.run(query="x") == {"documents": []}
