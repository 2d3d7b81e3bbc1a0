import numpy as np
import pytest
from haystack import Document
from haystack_integrations.components.retrievers.opensearch import OpenSearchEmbeddingRetriever
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import MLCommonsClient, UnsupportedServerError
from opensearch_pretrained_haystack.indices.knn import (
    IndexMismatchError,
    document_store_for,
    index_vector_space,
    knn_index_body,
    require_same_space,
    rescore_search_kwargs,
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
    assert body["mappings"]["properties"]["title"] == {"type": "keyword", "copy_to": "passage"}
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


# --- Compressed k-NN (issue 21) --------------------------------------------------------------------------------


def test_compressed_index_body_keeps_the_catalog_space_type_and_refuses_what_the_engine_lacks():
    tas_b = TAS_B
    field = knn_index_body(tas_b, mode="on_disk", compression_level="4x")["mappings"]["properties"]["embedding"]
    assert field["mode"] == "on_disk" and field["compression_level"] == "4x"
    assert field["method"]["space_type"] == "innerproduct" == tas_b.space_type
    assert "mode" not in knn_index_body(tas_b)["mappings"]["properties"]["embedding"]
    with pytest.raises(ValueError, match="lucene engine has no compression level '8x'; it supports 1x, 4x, 32x"):
        knn_index_body(tas_b, compression_level="8x")
    with pytest.raises(ValueError, match="on_disk' needs an explicit compression_level"):
        knn_index_body(tas_b, mode="on_disk")
    with pytest.raises(ValueError, match="Unknown k-NN mode 'disk'"):
        knn_index_body(tas_b, mode="disk", compression_level="4x")
    with pytest.raises(UnsupportedServerError, match=r"no 32x compression for lucene \(it needs 3\.6\.0\)"):
        knn_index_body(tas_b, mode="on_disk", compression_level="32x", server_version=(2, 19, 1))
    with pytest.raises(UnsupportedServerError, match=r"no k-NN mode/compression_level \(it needs 2\.17\.0\)"):
        knn_index_body(tas_b, compression_level="4x", server_version=(2, 16, 0))
    assert rescore_search_kwargs(3.0) == {"rescore": {"oversample_factor": 3.0}}
    with pytest.raises(ValueError, match="between 1 and 100"):
        rescore_search_kwargs(0.5)


@pytest.mark.integration
def test_a_compressed_on_disk_index_rescores_to_the_exact_neighbour(opensearch_url, index_name):
    """4x (lucene int8) on both nodes; 32x is never searched here: the test node's k-NN lacks its native library,
    and a 32x search exits a 3.6.0 node (see the note of issue 21). On 2.19.1 32x is refused before any request."""
    store = document_store_for(
        MINILM, opensearch_url, index_name, mode="on_disk", compression_level="4x", number_of_replicas=0
    )
    field = OpenSearch(hosts=opensearch_url).indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert (field["properties"]["embedding"]["mode"], field["properties"]["embedding"]["compression_level"]) == (
        "on_disk", "4x",
    )  # fmt: skip
    vectors = np.random.default_rng(7).normal(size=(30, MINILM.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    documents = [Document(id=str(i), content=f"d{i}", embedding=v.tolist()) for i, v in enumerate(vectors)]
    store.write_documents(documents, refresh=True)
    retriever = OpenSearchEmbeddingRetriever(document_store=store, top_k=3, search_kwargs=rescore_search_kwargs(3.0))
    found = retriever.run(query_embedding=vectors[11].tolist())["documents"]
    assert found[0].id == "11" and found[0].score == pytest.approx(1.0, abs=1e-6)  # l2: 1 / (1 + 0), full precision
    if MLCommonsClient(OpenSearch(hosts=opensearch_url)).server_profile().version < (3, 6, 0):
        with pytest.raises(UnsupportedServerError, match=r"no 32x compression for lucene \(it needs 3\.6\.0\)"):
            document_store_for(MINILM, opensearch_url, f"{index_name}-32x", mode="on_disk", compression_level="32x")
        assert not OpenSearch(hosts=opensearch_url).indices.exists(index=f"{index_name}-32x")
