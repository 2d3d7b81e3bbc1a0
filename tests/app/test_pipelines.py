import pytest
from haystack import Pipeline
from haystack.document_stores.in_memory import InMemoryDocumentStore

from haystack_integrations.components.embedders.opensearch_pretrained import LocalOnnxDocumentEmbedder
from opensearch_pretrained_haystack.app.pipelines import (
    Splitting,
    document_embedder,
    indexing_pipeline,
    query_pipeline,
    text_embedder,
)
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.indices.knn import document_store_for

MODEL, VERSION = "all-MiniLM-L6-v2", "1.0.1"
TEXTS = {
    "opensearch.md": "# OpenSearch\n\nOpenSearch is a distributed search and analytics engine with k-NN vector search.",
    "cooking.txt": "Risotto needs arborio rice, stock added slowly, and constant stirring. " * 3
    + "The secret of a good risotto is patience.",
    "space.txt": "The James Webb telescope observes the early universe in infrared light.",
}


@pytest.fixture
def files(tmp_path):
    paths = []
    for name, text in TEXTS.items():
        (tmp_path / name).write_text(text)
        paths.append(tmp_path / name)
    return paths


CUT = Splitting(window=64, overlap=8, title_header=False)


def index_and_ask(index_store, query_store, files, question):
    indexing = Pipeline.loads(indexing_pipeline(index_store, model=MODEL, version=VERSION).dumps())
    written = indexing.run({"converter": {"sources": files}})["writer"]["documents_written"]
    querying = Pipeline.loads(query_pipeline(query_store, model=MODEL, version=VERSION, top_k=2).dumps())
    return written, querying.run({"embedder": {"text": question}})["collapser"]["documents"]


def test_both_pipelines_round_trip_through_yaml_with_the_default_loader():
    store = InMemoryDocumentStore()
    for pipeline in (
        indexing_pipeline(store, model=MODEL, version=VERSION, splitting=CUT),
        query_pipeline(store, model=MODEL, version=VERSION),
    ):
        original, loaded = pipeline.to_dict(), Pipeline.loads(pipeline.dumps()).to_dict()
        assert loaded["components"] == original["components"]
        assert sorted(map(str, loaded["connections"])) == sorted(map(str, original["connections"]))
    splitter = Pipeline.loads(indexing_pipeline(store, splitting=CUT).dumps()).get_component("splitter")
    assert (splitter.window, splitter.overlap, splitter.title_header) == (64, 8, False)


def test_in_memory_pipelines_end_to_end(files):
    store = InMemoryDocumentStore()
    indexing = indexing_pipeline(store, model=MODEL, version=VERSION)
    written = indexing.run({"converter": {"sources": files}})["writer"]["documents_written"]
    assert written == store.count_documents() >= 3
    result = query_pipeline(store, model=MODEL, version=VERSION, top_k=2).run(
        {"embedder": {"text": "vector search engine"}}
    )
    top = result["collapser"]["documents"]
    assert len(top) == 2 and "OpenSearch" in top[0].content
    assert top[0].id == top[0].meta["source_id"]


def test_embedder_choice_local_or_remote():
    assert isinstance(document_embedder(MODEL, VERSION), LocalOnnxDocumentEmbedder)
    with pytest.raises(ValueError, match="hosts"):
        document_embedder(MODEL, remote_model_id="abc")
    remote = pytest.importorskip(
        "haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_document_embedder"
    )
    built = document_embedder(MODEL, remote_model_id="abc", hosts="http://localhost:9200")
    assert isinstance(built, remote.OpenSearchMLDocumentEmbedder) and built.model_id == "abc"
    assert text_embedder(MODEL, remote_model_id="abc", hosts="http://localhost:9200").model_id == "abc"


def test_query_pipeline_needs_a_known_store():
    with pytest.raises(TypeError, match="an SQLiteDocumentStore or an InMemoryDocumentStore"):
        query_pipeline(object())


@pytest.mark.integration
def test_opensearch_pipelines_end_to_end_after_yaml(opensearch_url, index_name, files):
    store = document_store_for(get_model(MODEL, VERSION), opensearch_url, index_name, number_of_replicas=0)
    written, top = index_and_ask(store, store, files, "How do I cook risotto?")
    assert written >= 3
    assert top[0].meta["file_path"].endswith("cooking.txt")
    assert top[0].score > top[1].score
