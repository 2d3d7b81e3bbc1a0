import uuid

import pytest
from haystack import Document, Pipeline
from haystack.document_stores.types import FilterPolicy
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralRetriever
from haystack_integrations.components.retrievers.opensearch_pretrained.neural_retriever import _explain, search_body
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import ModelNotFoundError, RequestRejectedError, UnsupportedServerError
from opensearch_pretrained_haystack.cluster import document_store as adapter
from opensearch_pretrained_haystack.indices.neural import create_hybrid_search_pipeline, neural_document_store

FOOD = {"field": "meta.topic", "operator": "==", "value": "food"}


def unconnected_store(**kwargs) -> OpenSearchDocumentStore:
    return OpenSearchDocumentStore(hosts="http://localhost:1", index="docs", **kwargs)


# --- Request bodies (no cluster) ---------------------------------------------------------------------------------


def test_neural_body_embeds_the_query_text_in_the_cluster():
    body = search_body("risotto", "m1", 5, None)
    assert body == {
        "query": {"neural": {"embedding": {"query_text": "risotto", "model_id": "m1", "k": 5}}},
        "size": 5,
        "_source": {"excludes": ["embedding"]},
    }
    assert "_source" not in search_body("risotto", "m1", 5, None, return_embedding=True)


def test_filters_go_inside_the_neural_clause_and_candidates_never_fall_below_top_k():
    flt = {"term": {"topic": "food"}}
    neural = search_body("q", "m1", 5, flt, num_candidates=50)["query"]["neural"]["embedding"]
    assert neural["filter"] == flt and neural["k"] == 50
    assert search_body("q", "m1", 5, None, num_candidates=2)["query"]["neural"]["embedding"]["k"] == 5


def test_hybrid_body_is_bm25_then_neural_both_filtered():
    flt = {"term": {"topic": "food"}}
    queries = search_body("q", "m1", 3, flt, hybrid=True)["query"]["hybrid"]["queries"]
    assert queries[0] == {"bool": {"must": [{"match": {"content": {"query": "q"}}}], "filter": flt}}
    assert queries[1]["neural"]["embedding"]["filter"] == flt
    assert search_body("q", "m1", 3, None, hybrid=True)["query"]["hybrid"]["queries"][0] == {
        "match": {"content": {"query": "q"}}
    }


def test_request_applies_the_filter_policy_and_names_the_search_pipeline():
    retriever = OpenSearchNeuralRetriever(
        document_store=unconnected_store(),
        model_id="m1",
        filters=FOOD,
        filter_policy="merge",
        hybrid_search_pipeline="hybrid",
    )
    body, params = retriever._request("q", {"field": "meta.year", "operator": ">", "value": 2000}, None)
    assert params == {"search_pipeline": "hybrid"}
    conditions = body["query"]["hybrid"]["queries"][1]["neural"]["embedding"]["filter"]["bool"]["must"]
    assert {"term": {"topic": "food"}} in conditions and {"range": {"year": {"gt": 2000}}} in conditions
    plain = OpenSearchNeuralRetriever(document_store=unconnected_store(), model_id="m1", filters=FOOD)
    normalized = {"bool": {"must": {"term": {"topic": "food"}}}}  # opensearch-haystack's own filter translation
    assert plain._request("q", None, 2) == (search_body("q", "m1", 2, normalized), {})


def test_init_refuses_what_cannot_work():
    with pytest.raises(TypeError, match="OpenSearchDocumentStore"):
        OpenSearchNeuralRetriever(document_store=object(), model_id="m1")
    with pytest.raises(ValueError, match="PretrainedModelUploader"):
        OpenSearchNeuralRetriever(document_store=unconnected_store(), model_id="")
    with pytest.raises(ValueError, match="non-empty"):
        OpenSearchNeuralRetriever(document_store=unconnected_store(), model_id="m1")._request("", None, None)


def test_to_dict_from_dict_and_yaml_with_the_default_loader():
    retriever = OpenSearchNeuralRetriever(
        document_store=unconnected_store(return_embedding=True),
        model_id="m1",
        filters=FOOD,
        top_k=4,
        filter_policy=FilterPolicy.MERGE,
        num_candidates=40,
        hybrid_search_pipeline="hybrid",
        raise_on_failure=False,
    )
    data = retriever.to_dict()
    assert data["type"] == (
        "haystack_integrations.components.retrievers.opensearch_pretrained.neural_retriever.OpenSearchNeuralRetriever"
    )
    assert data["init_parameters"]["document_store"] == retriever.document_store.to_dict()
    restored = OpenSearchNeuralRetriever.from_dict(data)
    assert data["init_parameters"]["document_store"] == retriever.document_store.to_dict()  # data left unchanged
    settings = (
        "model_id",
        "filters",
        "top_k",
        "filter_policy",
        "num_candidates",
        "hybrid_search_pipeline",
        "raise_on_failure",
    )
    assert [getattr(restored, name) for name in settings] == [getattr(retriever, name) for name in settings]
    assert adapter.returns_embeddings(restored.document_store) and adapter.index_name(restored.document_store) == "docs"
    pipeline = Pipeline()
    pipeline.add_component("retriever", retriever)
    yaml = pipeline.dumps()
    loaded = Pipeline.loads(yaml)  # Haystack's default loader trusts the haystack_integrations namespace
    assert isinstance(loaded.get_component("retriever"), OpenSearchNeuralRetriever) and loaded.dumps() == yaml


def test_a_cluster_without_neural_search_is_named_as_the_cause():
    error = TransportError(400, "parsing_exception", {"error": {"reason": "unknown query [neural]"}})
    assert isinstance(_explain(error, "m1"), UnsupportedServerError)
    assert "opensearch-neural-search plugin" in str(_explain(error, "m1"))
    other = TransportError(400, "parsing_exception", {"error": {"reason": "[neural] query does not support [x]"}})
    assert isinstance(_explain(other, "m1"), RequestRejectedError)


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
def neural_store(opensearch_url, minilm_model_id):
    """An index embedded by the cluster's ingest pipeline, with a hybrid search pipeline beside it."""
    index = f"test-neural-retriever-{uuid.uuid4().hex[:8]}"
    store = neural_document_store(
        get_model("all-MiniLM-L6-v2", "1.0.1"), opensearch_url, index, minilm_model_id, number_of_replicas=0
    )
    store.write_documents(DOCUMENTS, refresh=True)
    client = OpenSearch(hosts=opensearch_url)
    create_hybrid_search_pipeline(client, f"{index}-hybrid")
    yield store
    client.indices.delete(index=index, ignore_unavailable=True)
    client.ingest.delete_pipeline(id=f"{index}-embedding", ignore=[404])
    client.search_pipeline.delete(id=f"{index}-hybrid", ignore=[404])


@pytest.mark.integration
def test_neural_query_ranks_by_meaning_with_filters_and_top_k(neural_store, minilm_model_id):
    retriever = OpenSearchNeuralRetriever(document_store=neural_store, model_id=minilm_model_id, top_k=3)
    top = retriever.run(query="how do I cook an Italian rice dish?")["documents"]
    assert len(top) == 3 and "Risotto" in top[0].content and top[0].score > top[1].score
    assert top[0].embedding is None and top[0].meta == {"topic": "food"}
    searched = retriever.run(
        query="how do I cook?", filters={"field": "meta.topic", "operator": "==", "value": "search"}
    )
    assert {d.meta["topic"] for d in searched["documents"]} == {"search"} and len(searched["documents"]) == 2
    assert len(retriever.run(query="anything", top_k=5)["documents"]) == 5


@pytest.mark.integration
async def test_run_async_uses_the_async_client_and_agrees(neural_store, minilm_model_id):
    retriever = OpenSearchNeuralRetriever(document_store=neural_store, model_id=minilm_model_id, filters=FOOD, top_k=2)
    result = await retriever.run_async(query="pasta with eggs")
    assert [d.id for d in result["documents"]] == [d.id for d in retriever.run(query="pasta with eggs")["documents"]]
    assert "carbonara" in result["documents"][0].content
    await neural_store.close_async()


@pytest.mark.integration
def test_hybrid_search_normalizes_and_mixes_bm25_with_neural(neural_store, minilm_model_id):
    pipeline = f"{adapter.index_name(neural_store)}-hybrid"
    hybrid = OpenSearchNeuralRetriever(
        document_store=neural_store, model_id=minilm_model_id, top_k=6, hybrid_search_pipeline=pipeline
    )
    documents = hybrid.run(query="term frequency ranking")["documents"]
    assert "BM25" in documents[0].content
    assert documents[0].score == pytest.approx(1.0) and all(0 <= d.score <= 1 for d in documents)
    filtered = hybrid.run(query="telescope", filters=FOOD)["documents"]
    assert filtered and {d.meta["topic"] for d in filtered} == {"food"}


@pytest.mark.integration
def test_failures_name_the_way_out(neural_store, minilm_model_id):
    with pytest.raises(ModelNotFoundError, match="PretrainedModelUploader"):
        OpenSearchNeuralRetriever(document_store=neural_store, model_id="no-such-model").run(query="x")
    missing_pipeline = OpenSearchNeuralRetriever(
        document_store=neural_store, model_id=minilm_model_id, hybrid_search_pipeline="no-such-pipeline"
    )
    with pytest.raises(RequestRejectedError, match="no-such-pipeline"):
        missing_pipeline.run(query="x")
    quiet = OpenSearchNeuralRetriever(document_store=neural_store, model_id="no-such-model", raise_on_failure=False)
    assert quiet.run(query="x") == {"documents": []}


def test_semantic_highlights_are_asked_for_and_read_into_the_documents_meta():
    retriever = OpenSearchNeuralRetriever(document_store=unconnected_store(), model_id="m1", highlight_model_id="h1")
    body, _ = retriever._request("Who waited?", None, 2)
    assert body["highlight"]["fields"] == {"content": {"type": "semantic"}}
    assert body["highlight"]["options"] == {"model_id": "h1"}
    assert OpenSearchNeuralRetriever.from_dict(retriever.to_dict()).highlight_model_id == "h1"
    text = "Dr. Smith arrived. Mr. Brown was waiting. They left."
    hits = [
        {"_id": "a", "_score": 2.0, "_source": {"id": "a", "content": text},
         "highlight": {"content": ["Dr. Smith arrived. <em>Mr. Brown was waiting.</em> They left."]}},
        {"_id": "b", "_score": 1.0, "_source": {"id": "b", "content": text},
         "highlight": {"content": ["Dr. Smith arrived. M<em>r. Brown was waiting. Th</em>ey left."]}},
    ]  # fmt: skip
    marked, drifted = retriever._documents(hits)
    assert marked.meta["semantic_highlights"] == [
        {"text": "Mr. Brown was waiting.", "start": 19, "end": 41, "position": 1}
    ]
    assert marked.meta["semantic_highlight"] == "Mr. Brown was waiting." and marked.score == 2.0
    assert "semantic_highlights" not in drifted.meta  # the cluster's drifted tags are not reported as highlights


def java_hash_set_order(texts: list[str]) -> list[str]:
    """The iteration order of a new Java HashSet holding `texts` (16 buckets: String.hashCode spread by HashMap)."""

    def bucket(text: str) -> int:
        h = 0
        for unit in text.encode("utf-16-le").hex(" ", 2).split():
            h = (31 * h + int(unit[2:] + unit[:2], 16)) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & 15

    return sorted(dict.fromkeys(texts), key=bucket)  # stable: one bucket keeps insertion order


@pytest.mark.integration
@pytest.mark.parametrize("hybrid", [False, True], ids=["neural", "hybrid"])
def test_the_cluster_s_semantic_highlights_equal_local_ones(neural_store, minilm_model_id, opensearch_url, hybrid):
    """neural: the highlighter's question is the query text. hybrid (neural-search 3.6): the sub-queries' texts,
    the match clause's analyzed terms and the neural text, joined in Java HashSet order (README)."""
    from haystack_integrations.components.extractors.opensearch_pretrained import LocalSemanticHighlighter
    from tests.highlighting.fixture import HIGHLIGHTER_DIR, deployed_highlighter, server_version

    if server_version(opensearch_url) < (3, 0, 0):
        return  # neural-search's semantic highlighter arrived in 3.0; 2.x refuses the model (tested with the uploader)
    pipeline = f"{adapter.index_name(neural_store)}-hybrid" if hybrid else None
    settings = {
        "document_store": neural_store,
        "model_id": minilm_model_id,
        "top_k": 4,
        "hybrid_search_pipeline": pipeline,
    }
    highlighted = OpenSearchNeuralRetriever(**settings, highlight_model_id=deployed_highlighter(opensearch_url))
    query = "How is risotto cooked?"
    question = query
    if hybrid:
        # The match clause's terms, as its search analyzer makes them (the english analysis drops stop words there).
        client, index = OpenSearch(hosts=opensearch_url), adapter.index_name(neural_store)
        field = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]["content"]
        search_analyzer = field.get("search_analyzer")
        analyzed = client.indices.analyze(
            index=index,
            body={"analyzer": search_analyzer, "text": query}
            if search_analyzer
            else {"field": "content", "text": query},
        )
        terms = " ".join(token["token"] for token in analyzed["tokens"])
        question = " ".join(java_hash_set_order([terms, query]))
    from_cluster = highlighted.run(query=query)["documents"]
    plain = OpenSearchNeuralRetriever(**settings).run(query=query)["documents"]
    local = LocalSemanticHighlighter(model=str(HIGHLIGHTER_DIR)).run(query=question, documents=plain)["documents"]
    assert from_cluster == local and any(d.meta["semantic_highlights"] for d in local)


@pytest.mark.integration
def test_a_query_model_other_than_the_index_model_is_refused_before_searching(neural_store, opensearch_url):
    """The tiny BERT deployed under its own name makes vectors of another model than the index's MiniLM."""
    from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
        PretrainedModelUploader,
    )
    from opensearch_pretrained_haystack.compatibility import IndexMismatchError
    from tests.conftest import TESTING

    tiny_id = PretrainedModelUploader(opensearch_url, str(TESTING / "tiny-bert-mean"), source="client").run()[
        "model_id"
    ]
    for quiet in (False, True):
        retriever = OpenSearchNeuralRetriever(document_store=neural_store, model_id=tiny_id, raise_on_failure=not quiet)
        with pytest.raises(IndexMismatchError, match=f"ML Commons model {tiny_id}"):
            retriever.run(query="risotto")
