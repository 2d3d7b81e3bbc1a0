import pytest
from haystack import Document
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.indices.knn import (
    IndexMismatchError,
    document_store_for,
    index_vector_space,
    knn_index_body,
    require_same_space,
)
from opensearch_pretrained_haystack.text_analysis import get_analyzer

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
TAS_B = get_model("msmarco-distilbert-base-tas-b")


def test_index_body_follows_the_model_and_always_names_the_engine():
    vector = knn_index_body(MINILM)["mappings"]["properties"]["embedding"]
    assert vector["dimension"] == 384
    assert vector["method"] == {
        "name": "hnsw",
        "engine": "lucene",
        "space_type": "l2",
        "parameters": {"m": 16, "ef_construction": 100},
    }
    tas_b = knn_index_body(TAS_B)["mappings"]["properties"]["embedding"]
    assert (tas_b["dimension"], tas_b["method"]["space_type"]) == (768, "innerproduct")


def test_index_body_options():
    body = knn_index_body(
        MINILM, space_type="cosinesimil", m=8, ef_construction=64, text_field="passage", number_of_replicas=0
    )
    assert (body["settings"]["index.knn"], body["settings"]["number_of_replicas"]) == (True, 0)
    assert body["mappings"]["properties"]["passage"] == get_analyzer("english").text_mapping()
    assert "analysis" in body["settings"]
    plain = knn_index_body(MINILM, analyzer="plain")
    assert plain["mappings"]["properties"]["content"]["analyzer"] == "opensearch_pretrained_plain"
    method = body["mappings"]["properties"]["embedding"]["method"]
    assert (method["space_type"], method["parameters"]) == ("cosinesimil", {"m": 8, "ef_construction": 64})
    assert "number_of_replicas" not in knn_index_body(MINILM)["settings"]


@pytest.mark.parametrize(("engine", "space"), [("annoy", None), ("lucene", "l1"), ("faiss", "linf")])
def test_index_body_rejects_what_the_engine_cannot_do(engine, space):
    with pytest.raises(ValueError, match=engine if engine == "annoy" else space):
        knn_index_body(MINILM, engine=engine, space_type=space)


def test_vector_space_of_a_mapping():
    assert index_vector_space({"dimension": 384, "method": {"space_type": "innerproduct"}}) == (384, "innerproduct")
    assert index_vector_space({"dimension": 768, "space_type": "cosinesimil"}) == (768, "cosinesimil")
    assert index_vector_space({"dimension": 768}) == (768, "l2")


def test_mismatch_error_names_both_values_and_the_way_out():
    with pytest.raises(IndexMismatchError) as error:
        require_same_space("Index 'docs'", (768, "innerproduct"), MINILM, "l2")
    message = str(error.value)
    assert "768" in message and "innerproduct" in message and "384" in message and "'l2'" in message
    assert "new index name" in message and "re-index" in message
    require_same_space("Index 'docs'", (384, "l2"), MINILM, "l2")


@pytest.mark.integration
def test_store_creates_the_index_for_the_model_and_reuses_it(opensearch_url, index_name):
    store = document_store_for(MINILM, opensearch_url, index_name, number_of_replicas=0)
    mapping = OpenSearch(hosts=opensearch_url).indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert index_vector_space(mapping["properties"]["embedding"]) == (384, "l2")
    assert mapping["properties"]["embedding"]["method"]["engine"] == "lucene"
    store.write_documents([Document(id="a", content="x", embedding=[0.1] * 384)])
    again = document_store_for(MINILM, opensearch_url, index_name)
    assert again.count_documents() == 1


@pytest.mark.integration
@pytest.mark.parametrize(("dimension", "space"), [(768, "l2"), (384, "innerproduct")])
def test_store_refuses_an_index_built_for_another_model(opensearch_url, index_name, dimension, space):
    client = OpenSearch(hosts=opensearch_url)
    client.indices.create(
        index=index_name,
        body={
            "settings": {"index.knn": True, "number_of_replicas": 0},
            "mappings": {
                "properties": {
                    "embedding": {
                        "type": "knn_vector",
                        "dimension": dimension,
                        "method": {"name": "hnsw", "engine": "lucene", "space_type": space},
                    }
                }
            },
        },
    )
    with pytest.raises(IndexMismatchError, match=f"{dimension}-dimensional vectors in space '{space}'"):
        document_store_for(MINILM, opensearch_url, index_name)
    client.indices.refresh(index=index_name)
    assert client.count(index=index_name)["count"] == 0


@pytest.mark.integration
def test_store_refuses_an_index_without_a_vector_field(opensearch_url, index_name):
    OpenSearch(hosts=opensearch_url).indices.create(index=index_name, body={"settings": {"number_of_replicas": 0}})
    with pytest.raises(IndexMismatchError, match="no knn_vector field 'embedding'"):
        document_store_for(MINILM, opensearch_url, index_name)
