"""The SQLite store's retrievers: run, run_async, filter policy, to_dict/from_dict and YAML with the default loader."""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document, Pipeline

from haystack_integrations.components.retrievers.opensearch_pretrained import (
    SQLiteBM25Retriever,
    SQLiteEmbeddingRetriever,
    SQLiteHybridRetriever,
)
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore


@pytest.fixture
def store(tmp_path):
    vectors = np.eye(384, dtype=np.float32)[:3]
    store = SQLiteDocumentStore(path=str(tmp_path / "store.sqlite"), model="all-MiniLM-L6-v2")
    store.write_documents(
        [Document(content="scurvy and vitamin C", meta={"lang": "en"}, embedding=vectors[0].tolist()),
         Document(content="le scorbut", meta={"lang": "fr"}, embedding=vectors[1].tolist()),
         Document(content="the moon", meta={"lang": "en"}, embedding=vectors[2].tolist())]
    )  # fmt: skip
    yield store
    store.close()


def _query(index: int) -> list[float]:
    return np.eye(384)[index].tolist()


def test_embedding_retriever_runs_with_filters_and_policy(store):
    retriever = SQLiteEmbeddingRetriever(
        document_store=store, top_k=2, filters={"field": "meta.lang", "operator": "==", "value": "en"}
    )
    assert [d.content for d in retriever.run(query_embedding=_query(1))["documents"]] == [
        "scurvy and vitamin C",
        "the moon",
    ]
    replaced = retriever.run(query_embedding=_query(1), filters={"field": "meta.lang", "operator": "==", "value": "fr"})
    assert [d.content for d in replaced["documents"]] == ["le scorbut"]
    merging = SQLiteEmbeddingRetriever(
        document_store=store, filters={"field": "meta.lang", "operator": "==", "value": "en"}, filter_policy="merge"
    )
    merged = merging.run(
        query_embedding=_query(1), filters={"field": "content", "operator": "==", "value": "le scorbut"}
    )
    assert merged["documents"] == []


def test_bm25_and_hybrid_retrievers(store):
    assert (
        SQLiteBM25Retriever(document_store=store).run(query="scurvy")["documents"][0].content == "scurvy and vitamin C"
    )
    hybrid = SQLiteHybridRetriever(document_store=store, top_k=3, fusion="rrf")
    found = hybrid.run(query="scurvy", query_embedding=_query(2))["documents"]
    assert {found[0].content, found[1].content} == {"scurvy and vitamin C", "the moon"}
    with pytest.raises(ValueError, match="Unknown fusion"):
        SQLiteHybridRetriever(document_store=store, fusion="sum")


def test_hybrid_retriever_with_z_score_lower_bounds_and_min_score(store):
    z_score = SQLiteHybridRetriever(document_store=store, fusion="z_score", bm25_weight=0.5)
    assert z_score.run(query="scurvy", query_embedding=_query(0))["documents"][0].content == "scurvy and vitamin C"
    bounds = [{"mode": "clip", "min_score": 0.9}, {"mode": "ignore"}]
    bounded = SQLiteHybridRetriever(
        document_store=store, fusion="min_max", bm25_weight=0.2, lower_bounds=bounds, min_score=0.4
    )
    found = bounded.run(query="scurvy", query_embedding=_query(2))["documents"]
    assert [d.content for d in found] == ["the moon"]  # 0.8 · 1; scurvy: 0.2 · 1 + 0.8 · 0.001 < 0.4
    data = bounded.to_dict()
    assert data["init_parameters"]["lower_bounds"] == bounds and data["init_parameters"]["min_score"] == 0.4
    assert SQLiteHybridRetriever.from_dict(data).to_dict() == data
    with pytest.raises(ValueError, match="lower_bounds take min_max"):
        SQLiteHybridRetriever(document_store=store, fusion="rrf", lower_bounds=bounds)


async def test_run_async_equals_run(store):
    for retriever, inputs in [
        (SQLiteEmbeddingRetriever(document_store=store), {"query_embedding": _query(0)}),
        (SQLiteBM25Retriever(document_store=store), {"query": "moon"}),
        (SQLiteHybridRetriever(document_store=store), {"query": "moon", "query_embedding": _query(0)}),
    ]:
        assert (await retriever.run_async(**inputs)) == retriever.run(**inputs)


def test_wrong_store_is_a_type_error():
    with pytest.raises(TypeError, match="needs an SQLiteDocumentStore"):
        SQLiteEmbeddingRetriever(document_store=object())  # type: ignore[arg-type]


def test_to_dict_from_dict(store):
    retriever = SQLiteHybridRetriever(document_store=store, top_k=4, fusion="min_max", bm25_weight=0.3)
    data = retriever.to_dict()
    module = "haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_hybrid_retriever"
    assert data["type"] == f"{module}.SQLiteHybridRetriever"
    assert data["init_parameters"] == {
        "document_store": store.to_dict(), "filters": {}, "top_k": 4, "filter_policy": "replace",
        "return_embedding": False, "fusion": "min_max", "bm25_weight": 0.3, "rank_constant": 60,
    }  # fmt: skip
    assert SQLiteHybridRetriever.from_dict(data).to_dict() == data


def test_yaml_round_trip_with_the_default_loader(store):
    pipeline = Pipeline()
    pipeline.add_component("dense", SQLiteEmbeddingRetriever(document_store=store, top_k=2))
    pipeline.add_component("bm25", SQLiteBM25Retriever(document_store=store))
    pipeline.add_component("hybrid", SQLiteHybridRetriever(document_store=store, fusion="rrf"))
    loaded = Pipeline.loads(pipeline.dumps())
    assert loaded.to_dict() == pipeline.to_dict()
    result = loaded.run(
        {
            "dense": {"query_embedding": _query(2)},
            "bm25": {"query": "moon"},
            "hybrid": {"query": "moon", "query_embedding": _query(2)},
        }
    )
    assert result["dense"]["documents"][0].content == "the moon"
