"""query_pipeline(..., rerank=...): retriever → ranker → collapser, local or in the cluster, and its YAML."""

import pytest
from haystack import Document, Pipeline
from haystack.document_stores.in_memory import InMemoryDocumentStore

from haystack_integrations.components.embedders.opensearch_pretrained import LocalOnnxDocumentEmbedder
from haystack_integrations.components.rankers.opensearch_pretrained import (
    LocalOnnxRanker,
    OpenSearchMLRanker,
    SourceDocumentCollapser,
)
from opensearch_pretrained_haystack.app.pipelines import query_inputs, query_pipeline, ranker
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.indices.knn import document_store_for
from tests.conftest import TESTING

MODEL, VERSION = "all-MiniLM-L6-v2", "1.0.1"
TINY = TESTING / "tiny-cross-encoder" / "onnx"
QUERY = "how do I cook rice?"
PASSAGES = [
    ("risotto", "Risotto needs arborio rice and stock added slowly."),
    ("risotto", "Stir the risotto constantly and be patient."),
    ("webb", "The James Webb telescope observes the early universe in infrared light."),
    ("webb", "Its mirror is gold-coated beryllium."),
    ("opensearch", "OpenSearch is a distributed search and analytics engine."),
    ("opensearch", "k-NN search finds the nearest vectors."),
    ("pasta", "Carbonara is pasta with eggs, cheese and guanciale."),
]


def passages() -> list[Document]:
    return [
        Document(id=f"{source}-{n}", content=text, meta={"source_id": source})
        for n, (source, text) in enumerate(PASSAGES)
    ]


@pytest.fixture(scope="module")
def embedded_passages() -> list[Document]:
    return LocalOnnxDocumentEmbedder(MODEL, VERSION, progress_bar=False).run(documents=passages())["documents"]


def in_memory(documents: list[Document]) -> InMemoryDocumentStore:
    store = InMemoryDocumentStore()
    store.write_documents(documents)
    return store


def expected_sources(candidates: list[Document], top_k: int) -> list[tuple[str, float]]:
    """What rerank-then-collapse must give: the local ranker on the retrieved passages, collapsed by best passage."""
    ranked = LocalOnnxRanker(model=str(TINY), top_k=len(candidates), progress_bar=False).run(
        query=QUERY, documents=candidates
    )["documents"]
    collapsed = SourceDocumentCollapser(top_k=top_k).run(documents=ranked)["documents"]
    return [(doc.id, doc.score) for doc in collapsed]


def assert_sources(got: list[Document], expected: list[tuple[str, float]]) -> None:
    assert [doc.id for doc in got] == [source for source, _ in expected] and got
    assert max(abs(doc.score - score) for doc, (_, score) in zip(got, expected, strict=True)) <= 1e-5


def test_the_ranker_rescores_every_candidate_before_the_collapser(embedded_passages):
    store = in_memory(embedded_passages)
    pipeline = query_pipeline(store, model=MODEL, version=VERSION, top_k=2, rerank=ranker(str(TINY)), rerank_top_k=5)
    assert pipeline.get_component("retriever").top_k == 5 and pipeline.get_component("ranker").top_k == 5
    result = pipeline.run(query_inputs(pipeline, QUERY), include_outputs_from={"retriever"})
    candidates = result["retriever"]["documents"]
    assert len(candidates) == 5
    assert_sources(result["collapser"]["documents"], expected_sources(candidates, 2))
    plain = query_pipeline(store, model=MODEL, version=VERSION, top_k=2)
    assert "ranker" not in plain.graph.nodes and plain.get_component("retriever").top_k == 10
    assert query_inputs(plain, QUERY) == {"embedder": {"text": QUERY}}


def test_reranking_defaults_to_the_candidates_of_plain_retrieval_and_refuses_nonsense():
    store = InMemoryDocumentStore()
    pipeline = query_pipeline(store, model=MODEL, version=VERSION, top_k=3, rerank=ranker(str(TINY)))
    assert pipeline.get_component("retriever").top_k == pipeline.get_component("ranker").top_k == 15
    with pytest.raises(ValueError, match="give the ranker"):
        query_pipeline(store, rerank_top_k=20)
    with pytest.raises(ValueError, match="1 or more"):
        query_pipeline(store, rerank=ranker(str(TINY)), rerank_top_k=0)
    with pytest.raises(TypeError, match="ranker component"):
        query_pipeline(store, rerank=object())
    with pytest.raises(ValueError, match="hosts"):
        ranker(remote_model_id="abc")


@pytest.mark.parametrize("remote", [False, True])
def test_a_reranking_query_pipeline_round_trips_through_yaml_with_the_default_loader(remote):
    rerank = (
        ranker(remote_model_id="m1", hosts="http://localhost:9200", batch_size=8)
        if remote
        else ranker(str(TINY), batch_size=8)
    )
    pipeline = query_pipeline(InMemoryDocumentStore(), model=MODEL, version=VERSION, rerank=rerank, rerank_top_k=40)
    loaded = Pipeline.loads(pipeline.dumps())
    restored = loaded.get_component("ranker")
    assert isinstance(restored, OpenSearchMLRanker if remote else LocalOnnxRanker)
    assert (restored.top_k, restored.batch_size) == (40, 8)
    assert loaded.to_dict()["components"] == pipeline.to_dict()["components"]
    assert sorted(map(str, loaded.to_dict()["connections"])) == sorted(map(str, pipeline.to_dict()["connections"]))


@pytest.mark.integration
def test_the_clusters_ranker_in_an_opensearch_query_pipeline_equals_the_local_one(opensearch_url, index_name):
    from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
        PretrainedModelUploader,
    )

    store = document_store_for(get_model(MODEL, VERSION), opensearch_url, index_name, number_of_replicas=0)
    store.write_documents(
        LocalOnnxDocumentEmbedder(MODEL, VERSION, progress_bar=False).run(documents=passages())["documents"],
        refresh=True,
    )
    model_id = PretrainedModelUploader(opensearch_url, str(TINY), source="client").run()["model_id"]
    results = {}
    for name, rerank in {
        "local": ranker(str(TINY)),
        "cluster": ranker(remote_model_id=model_id, hosts=opensearch_url),
    }.items():
        pipeline = Pipeline.loads(query_pipeline(store, model=MODEL, version=VERSION, top_k=3, rerank=rerank).dumps())
        result = pipeline.run(query_inputs(pipeline, QUERY), include_outputs_from={"retriever"})
        results[name] = result["collapser"]["documents"]
        assert_sources(results[name], expected_sources(result["retriever"]["documents"], 3))
    assert_sources(results["cluster"], [(doc.id, doc.score) for doc in results["local"]])
    assert len(results["local"]) == 3
