"""The SQLite store's sparse retrievers: run, run_async, filter policy, fusion, to_dict/from_dict and YAML."""

from __future__ import annotations

import asyncio

import pytest
from haystack import Document, Pipeline
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.components.retrievers.opensearch_pretrained import (
    SQLiteSparseEmbeddingRetriever,
    SQLiteSparseHybridRetriever,
)
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore


@pytest.fixture
def store(tmp_path):
    store = SQLiteDocumentStore(
        path=str(tmp_path / "store.sqlite"), model="all-MiniLM-L6-v2",
        sparse_model="opensearch-neural-sparse-encoding-doc-v3-gte",
    )  # fmt: skip
    store.write_documents(
        [Document(content="scurvy and vitamin C", meta={"lang": "en"},
                  sparse_embedding=SparseEmbedding(indices=[1, 2], values=[2.0, 1.0])),
         Document(content="le scorbut", meta={"lang": "fr"},
                  sparse_embedding=SparseEmbedding(indices=[1], values=[1.5])),
         Document(content="the moon", meta={"lang": "en"},
                  sparse_embedding=SparseEmbedding(indices=[3], values=[1.0]))]
    )  # fmt: skip
    yield store
    store.close()


QUERY = SparseEmbedding(indices=[1, 3], values=[1.0, 0.5])


def test_sparse_retriever_scores_filters_and_policy(store):
    retriever = SQLiteSparseEmbeddingRetriever(document_store=store, top_k=2)
    found = retriever.run(query_sparse_embedding=QUERY)["documents"]
    assert [(d.content, d.score) for d in found] == [("scurvy and vitamin C", 2.0), ("le scorbut", 1.5)]
    english = {"field": "meta.lang", "operator": "==", "value": "en"}
    assert [d.content for d in retriever.run(query_sparse_embedding=QUERY, filters=english)["documents"]] == [
        "scurvy and vitamin C",
        "the moon",
    ]
    merging = SQLiteSparseEmbeddingRetriever(document_store=store, filters=english, filter_policy="merge")
    french = {"field": "content", "operator": "==", "value": "le scorbut"}
    assert merging.run(query_sparse_embedding=QUERY, filters=french)["documents"] == []
    assert asyncio.run(retriever.run_async(query_sparse_embedding=QUERY, top_k=1))["documents"][0].score == 2.0


def test_sparse_hybrid_retriever_fuses_with_bm25(store):
    hybrid = SQLiteSparseHybridRetriever(document_store=store, top_k=3, fusion="min_max", weights=[0.5, 0.5])
    found = hybrid.run(query_sparse_embedding=QUERY, query="moon")["documents"]
    # min-max: the moon is first for BM25 (1) and last for sparse (0.001); scurvy first for sparse only.
    assert [d.content for d in found] == ["the moon", "scurvy and vitamin C", "le scorbut"]
    assert asyncio.run(hybrid.run_async(query_sparse_embedding=QUERY, query="moon"))["documents"] == found
    with pytest.raises(ValueError, match="needs query"):
        hybrid.run(query_sparse_embedding=QUERY)
    with pytest.raises(ValueError, match="Unknown fusion"):
        SQLiteSparseHybridRetriever(document_store=store, fusion="max")
    with pytest.raises(ValueError, match="lower_bounds take min_max"):
        SQLiteSparseHybridRetriever(document_store=store, lower_bounds=[{"mode": "clip"}] * 2)


@pytest.mark.parametrize("retriever_class", [SQLiteSparseEmbeddingRetriever, SQLiteSparseHybridRetriever])
def test_round_trip_and_yaml_with_the_default_loader(store, retriever_class):
    retriever = retriever_class(
        document_store=store, top_k=4, filters={"field": "meta.lang", "operator": "==", "value": "en"}
    )
    data = retriever.to_dict()
    assert data["init_parameters"]["document_store"]["init_parameters"]["sparse_model"] == store.sparse_model
    restored = retriever_class.from_dict(data)
    assert restored.to_dict() == data
    pipeline = Pipeline()
    pipeline.add_component("retriever", retriever)
    loaded = Pipeline.loads(pipeline.dumps())
    arguments = {"query_sparse_embedding": QUERY}
    if retriever_class is SQLiteSparseHybridRetriever:
        arguments["query"] = "moon"
    assert loaded.run({"retriever": arguments})["retriever"]["documents"]
