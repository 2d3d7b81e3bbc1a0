"""Neural sparse indices (issue 11, item 5): index bodies, version rules, the sparse_encoding ingest pipeline and
the bulk writer, and on the real node the issue's proof — documents encoded at ingest, and a `neural_sparse`
search with locally computed `query_tokens` returning the same hits and scores as `query_text` + model id."""

import json

import pytest
from fault_proxy import FaultProxy
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalSparseTextEmbedder,
    OpenSearchMLSparseDocumentEmbedder,
    OpenSearchMLSparseTextEmbedder,
)
from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralSparseRetriever
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import RetryPolicy, ServerProfile, UnsupportedServerError
from opensearch_pretrained_haystack.indices.knn import IndexMismatchError, document_store_for
from opensearch_pretrained_haystack.indices.sparse import (
    SPARSE_FIELD,
    SPARSE_META_KEY,
    SparseWriteError,
    sparse_document_store,
    sparse_field_value,
    sparse_index_body,
    sparse_ingest_pipeline_body,
    write_sparse_documents,
)
from opensearch_pretrained_haystack.inference.sparse_tokenizer import load_vocabulary
from tests.conftest import REFERENCE
from tests.sparse_models import SPARSE_TOKENIZER_DIR, deployed_sparse_model

WORDS_PER_QUERY = 6
"""The tiny encoder has random weights, so natural queries share no token with its documents: each query is the
top whole-word tokens the cluster gave one indexed document (so every query has hits, and ranks many)."""


# --- Request bodies and version rules (no cluster) -------------------------------------------------------------


def test_rank_features_index_keeps_the_sparse_field_out_of_source_and_strings_as_keywords():
    body = sparse_index_body(number_of_replicas=0)
    assert body["settings"] == {"number_of_replicas": 0}
    assert body["mappings"]["properties"] == {"content": {"type": "text"}, SPARSE_FIELD: {"type": "rank_features"}}
    assert body["mappings"]["_source"] == {"excludes": [SPARSE_FIELD]}
    assert body["mappings"]["dynamic_templates"][0]["strings"]["mapping"] == {"type": "keyword"}
    assert "_source" not in sparse_index_body(store_sparse_source=True)["mappings"]


def test_sparse_vector_index_sets_index_sparse_and_a_seismic_method():
    body = sparse_index_body(field_type="sparse_vector", seismic_parameters={"n_postings": 300})
    assert body["settings"]["index.sparse"] is True
    assert body["mappings"]["properties"][SPARSE_FIELD] == {
        "type": "sparse_vector",
        "method": {"name": "seismic", "parameters": {"n_postings": 300}},
    }
    with pytest.raises(ValueError, match="rank_features"):
        sparse_index_body(field_type="sparse")  # type: ignore[arg-type]


def test_hybrid_index_has_the_models_knn_field_and_the_sparse_field():
    minilm = get_model("all-MiniLM-L6-v2", "1.0.1")
    properties = sparse_index_body(dense_model=minilm)["mappings"]["properties"]
    assert properties["embedding"]["type"] == "knn_vector" and properties["embedding"]["dimension"] == 384
    assert properties[SPARSE_FIELD] == {"type": "rank_features"}


def test_sparse_ingest_pipeline_uses_the_sparse_encoding_processor():
    assert sparse_ingest_pipeline_body("m1", batch_size=4)["processors"] == [
        {"sparse_encoding": {"model_id": "m1", "field_map": {"content": SPARSE_FIELD}, "batch_size": 4}}
    ]


@pytest.mark.parametrize(
    ("number", "tokens", "sparse_vector"),
    [
        ("2.11.0", False, False),
        ("2.14.0", True, False),
        ("2.19.1", True, False),
        ("3.2.0", True, False),
        ("3.3.0", True, True),
        ("3.6.0", True, True),
    ],
)
def test_query_tokens_from_2_14_and_sparse_vector_from_3_3(number, tokens, sparse_vector):
    profile = ServerProfile.parse(number)
    assert profile.sparse_query_tokens is tokens
    assert profile.sparse_vector_field is sparse_vector


def test_field_values_are_token_strings_for_rank_features_and_ids_for_sparse_vector():
    vocabulary = load_vocabulary(str(SPARSE_TOKENIZER_DIR))
    embedding = vocabulary.to_sparse_embedding({"hello": 1.5, "world": 0.25})
    assert sparse_field_value(embedding, "rank_features", vocabulary) == {"hello": 1.5, "world": 0.25}
    assert sparse_field_value(embedding, "sparse_vector", None) == {
        str(vocabulary.ids["hello"]): 1.5,
        str(vocabulary.ids["world"]): 0.25,
    }
    with pytest.raises(ValueError, match="vocabulary"):
        sparse_field_value(embedding, "rank_features", None)


# --- On the real node ------------------------------------------------------------------------------------------


def corpus() -> list[Document]:
    texts = json.loads((REFERENCE / "texts.json").read_text())
    return [
        Document(content=text, meta={"group": f"g{i % 3}"})
        for i, text in enumerate(dict.fromkeys(texts))
        if text.strip()
    ]


@pytest.fixture
def sparse_index(opensearch_url, index_name):
    """A throw-away sparse index (the `index_name` fixture deletes it) and its pipeline, removed afterwards."""
    yield index_name
    OpenSearch(hosts=opensearch_url).ingest.delete_pipeline(id=f"{index_name}-sparse", ignore=[404])


@pytest.fixture(scope="module")
def sparse_models(opensearch_url):
    """(encoder id, tokenizer id): both tiny models deployed through the package's uploader."""
    return deployed_sparse_model(opensearch_url, "encoder"), deployed_sparse_model(opensearch_url, "tokenizer")


def cluster_queries(opensearch_url: str, encoder_id: str, docs: list[Document], count: int = 8) -> list[str]:
    """Queries made of each of `count` documents' strongest whole-word tokens, as the cluster encodes them."""
    embedder = OpenSearchMLSparseDocumentEmbedder(
        opensearch_url, encoder_id, vocabulary=str(SPARSE_TOKENIZER_DIR), progress_bar=False
    )
    vocabulary = load_vocabulary(str(SPARSE_TOKENIZER_DIR))
    queries = []
    for doc in embedder.run(documents=[Document(content=d.content) for d in docs[:count]])["documents"]:
        assert doc.sparse_embedding is not None
        weights = vocabulary.to_token_weights(doc.sparse_embedding)
        words = sorted((t for t in weights if t.isalpha() and t.isascii()), key=weights.__getitem__, reverse=True)
        queries.append(" ".join(words[:WORDS_PER_QUERY]))
    return queries


def assert_same_hits(found: list[Document], expected: list[Document]) -> None:
    assert expected
    assert [d.id for d in found] == [d.id for d in expected]
    assert [d.score for d in found] == pytest.approx([d.score for d in expected], rel=1e-6)


@pytest.mark.integration
def test_ingest_pipeline_encodes_and_local_query_tokens_find_what_the_clusters_tokenizer_finds(
    opensearch_url, sparse_models, sparse_index
):
    encoder_id, tokenizer_id = sparse_models
    docs = corpus()
    store = sparse_document_store(opensearch_url, sparse_index, model_id=encoder_id, number_of_replicas=0)
    store.write_documents(docs)  # content only: the cluster's sparse_encoding processor fills the sparse field
    client = OpenSearch(hosts=opensearch_url)
    client.indices.refresh(index=sparse_index)
    assert store.count_documents() == len(docs)
    assert {d.id for d in store.filter_documents()} == {d.id for d in docs}  # the store still reads its documents

    queries = cluster_queries(opensearch_url, encoder_id, docs)
    by_cluster = OpenSearchNeuralSparseRetriever(document_store=store, model_id=tokenizer_id, top_k=10)
    local = LocalSparseTextEmbedder(model=str(SPARSE_TOKENIZER_DIR), progress_bar=False)
    by_tokens = OpenSearchNeuralSparseRetriever(document_store=store, vocabulary=str(SPARSE_TOKENIZER_DIR), top_k=10)
    for query in queries:
        expected = by_cluster.run(query=query)["documents"]
        found = by_tokens.run(query_sparse_embedding=local.run(text=query)["sparse_embedding"])["documents"]
        assert len(expected) == 10, query
        assert_same_hits(found, expected)

    # Bi-encoder mode: the same encoder on both sides, the query encoded by _predict or by the query's pipeline.
    bi_cluster = OpenSearchNeuralSparseRetriever(document_store=store, model_id=encoder_id)
    text_embedder = OpenSearchMLSparseTextEmbedder(opensearch_url, encoder_id, vocabulary=str(SPARSE_TOKENIZER_DIR))
    for query in queries[:3]:
        embedding = text_embedder.run(text=query)["sparse_embedding"]
        found = by_tokens.run(query_sparse_embedding=embedding, top_k=10)["documents"]
        assert_same_hits(found, bi_cluster.run(query=query)["documents"])

    client.indices.forcemerge(index=sparse_index, max_num_segments=1)
    stats = client.indices.stats(index=sparse_index)["_all"]["primaries"]
    print(f"index size: {stats['store']['size_in_bytes'] / len(docs):.0f} bytes per document ({len(docs)} documents)")


@pytest.mark.integration
def test_an_index_records_its_sparse_encoder_and_refuses_another_before_writing(
    opensearch_url, sparse_models, sparse_index
):
    encoder_id, tokenizer_id = sparse_models
    store = sparse_document_store(opensearch_url, sparse_index, model_id=encoder_id, number_of_replicas=0)
    store.write_documents(corpus()[:3], refresh=True)
    client = OpenSearch(hosts=opensearch_url)
    meta = client.indices.get_mapping(index=sparse_index)[sparse_index]["mappings"]["_meta"]
    encoder = client.transport.perform_request("GET", f"/_plugins/_ml/models/{encoder_id}")["name"]
    assert meta[SPARSE_META_KEY] == {"name": encoder}
    pipeline = client.ingest.get_pipeline(id=f"{sparse_index}-sparse")
    with pytest.raises(IndexMismatchError, match=f"holds sparse embeddings of {encoder}, not "):
        sparse_document_store(opensearch_url, sparse_index, model_id=tokenizer_id)
    assert client.ingest.get_pipeline(id=f"{sparse_index}-sparse") == pipeline  # still the encoder's
    assert client.count(index=sparse_index)["count"] == 3


@pytest.mark.integration
def test_documents_carrying_sparse_embeddings_are_written_once_and_rank_like_ingest_encoded_ones(
    opensearch_url, sparse_models, sparse_index, index_name
):
    encoder_id, tokenizer_id = sparse_models
    docs = corpus()[:60]
    pipeline_store = sparse_document_store(opensearch_url, sparse_index, model_id=encoder_id, number_of_replicas=0)
    pipeline_store.write_documents(docs, refresh=True)

    written_index = f"{index_name}-written"
    embedder = OpenSearchMLSparseDocumentEmbedder(
        opensearch_url, encoder_id, vocabulary=str(SPARSE_TOKENIZER_DIR), progress_bar=False
    )
    embedded = embedder.run(documents=docs)["documents"]
    try:
        store = sparse_document_store(opensearch_url, written_index, number_of_replicas=0)
        vocabulary = load_vocabulary(str(SPARSE_TOKENIZER_DIR))
        with FaultProxy(opensearch_url, failures=1, status=429, paths=("/_bulk",)) as proxy:
            proxied = sparse_document_store(proxy.url, written_index)
            written = write_sparse_documents(
                proxied, embedded, vocabulary=vocabulary, retry=RetryPolicy(initial_backoff=0.02)
            )
        assert proxy.injected == 1 and written == len(docs)
        assert write_sparse_documents(store, embedded, vocabulary=vocabulary) == len(docs)  # overwritten, not added
        assert store.count_documents() == len(docs)

        for query in cluster_queries(opensearch_url, encoder_id, docs, count=4):
            expected = OpenSearchNeuralSparseRetriever(document_store=pipeline_store, model_id=tokenizer_id)
            found = OpenSearchNeuralSparseRetriever(document_store=store, model_id=tokenizer_id)
            assert_same_hits(found.run(query=query)["documents"], expected.run(query=query)["documents"])
    finally:
        OpenSearch(hosts=opensearch_url).indices.delete(index=written_index, ignore_unavailable=True)


@pytest.mark.integration
def test_a_refused_document_is_named_and_the_others_are_written(opensearch_url, index_name):
    store = sparse_document_store(opensearch_url, index_name, number_of_replicas=0)
    vocabulary = load_vocabulary(str(SPARSE_TOKENIZER_DIR))
    good = Document(id="good", content="x", sparse_embedding=vocabulary.to_sparse_embedding({"hello": 1.0}))
    bad = Document(id="bad", content="y", sparse_embedding=vocabulary.to_sparse_embedding({"hello": -1.0}))
    with pytest.raises(SparseWriteError, match="1 of 2 documents were refused") as refused:
        write_sparse_documents(store, [good, bad], vocabulary=vocabulary)
    assert list(refused.value.failures) == ["bad"]
    assert [d.id for d in store.filter_documents()] == ["good"]


@pytest.mark.integration
def test_sparse_vector_is_created_from_3_3_and_refused_before_naming_the_version(opensearch_url, index_name):
    client = OpenSearch(hosts=opensearch_url)
    if ServerProfile.parse(client.info()["version"]["number"]).sparse_vector_field:
        sparse_document_store(opensearch_url, index_name, field_type="sparse_vector", number_of_replicas=0)
        mapping = client.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
        assert mapping[SPARSE_FIELD]["type"] == "sparse_vector"
    else:
        with pytest.raises(UnsupportedServerError, match=r"needs OpenSearch 3\.3 or newer"):
            sparse_document_store(opensearch_url, index_name, field_type="sparse_vector")
        assert not client.indices.exists(index=index_name)


@pytest.mark.integration
def test_a_dense_index_is_refused_before_anything_is_written(opensearch_url, index_name):
    dense = document_store_for(get_model("all-MiniLM-L6-v2", "1.0.1"), opensearch_url, index_name)
    doc = Document(content="x", sparse_embedding=SparseEmbedding(indices=[1000], values=[1.0]))
    with pytest.raises(IndexMismatchError, match="no rank_features or sparse_vector field"):
        write_sparse_documents(dense, [doc], vocabulary=load_vocabulary(str(SPARSE_TOKENIZER_DIR)))
    assert dense.count_documents() == 0
