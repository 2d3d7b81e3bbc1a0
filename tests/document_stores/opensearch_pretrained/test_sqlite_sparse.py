"""Sparse embeddings in the SQLite store: search equals a brute-force dot product with the cluster's arithmetic,
the postings follow every write, and the sparse model is recorded and checked."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, SQLiteStoreError
from haystack_integrations.document_stores.opensearch_pretrained.scoring import fuse
from opensearch_pretrained_haystack.compatibility import IndexMismatchError

SPARSE_MODEL = "opensearch-neural-sparse-encoding-doc-v3-gte"


def _random_documents(rng: np.random.Generator, count: int, vocabulary: int = 60) -> list[Document]:
    documents = []
    for number in range(count):
        indices = rng.choice(vocabulary, size=int(rng.integers(1, 25)), replace=False)
        values = rng.uniform(0.01, 4.0, len(indices))
        embedding = SparseEmbedding(indices=indices.tolist(), values=values.tolist())
        documents.append(Document(content=f"passage {number}", meta={"n": number}, sparse_embedding=embedding))
    return documents


@pytest.fixture
def store(tmp_path):
    store = SQLiteDocumentStore(
        path=str(tmp_path / "store.sqlite"), model="all-MiniLM-L6-v2", sparse_model=SPARSE_MODEL
    )
    yield store
    store.close()


@pytest.fixture
def rng():
    return np.random.default_rng(19)


def _queries(rng: np.random.Generator, count: int = 5) -> list[SparseEmbedding]:
    queries = []
    for _ in range(count):
        indices = rng.choice(60, size=int(rng.integers(1, 12)), replace=False)
        queries.append(SparseEmbedding(indices=indices.tolist(), values=rng.uniform(0.05, 8.0, len(indices)).tolist()))
    return queries


def test_sparse_search_equals_the_brute_force_dot_product_to_the_last_float(store, rng, assert_exact_sparse):
    store.write_documents(_random_documents(rng, 300))
    for query in _queries(rng):
        assert_exact_sparse(store, query, top_k=15)


def test_postings_follow_overwrites_deletes_and_filters(store, rng, assert_exact_sparse, sparse_brute_force):
    documents = _random_documents(rng, 120)
    store.write_documents(documents)
    replaced = [
        Document(id=doc.id, content=doc.content, meta=doc.meta, sparse_embedding=new.sparse_embedding)
        for doc, new in zip(documents[:30], _random_documents(rng, 30), strict=True)
    ]
    store.write_documents(replaced, policy=DuplicatePolicy.OVERWRITE)
    store.write_documents([Document(id=documents[30].id, content="no sparse now")], policy=DuplicatePolicy.OVERWRITE)
    store.delete_documents([documents[31].id])
    assert store.delete_by_filter({"field": "meta.n", "operator": ">=", "value": 100}) == 20
    kept = [d for d in store.filter_documents() if d.sparse_embedding is not None]
    with sqlite3.connect(store.path) as connection:
        postings = connection.execute("SELECT count(*) FROM sparse_postings").fetchone()[0]
    assert postings == sum(len(d.sparse_embedding.indices) for d in kept)
    for query in _queries(rng):
        assert_exact_sparse(store, query)
        allowed = {"field": "meta.n", "operator": "<", "value": 50}
        found = [(d.id, d.score) for d in store.sparse_retrieval(query, filters=allowed, top_k=7)]
        assert found == sparse_brute_force([d for d in kept if d.meta["n"] < 50], query, 7)


def test_the_sparse_model_is_recorded_and_another_one_refused(tmp_path, rng):
    path = str(tmp_path / "store.sqlite")
    documents = _random_documents(rng, 5)
    unnamed = SQLiteDocumentStore(path=path, model="all-MiniLM-L6-v2")
    with pytest.raises(SQLiteStoreError, match=r"first sparse embeddings: say which model made them"):
        unnamed.write_documents(documents)
    assert unnamed.count_documents() == 0
    unnamed.write_documents([Document(content="dense only")])  # documents without sparse embeddings need no model
    SQLiteDocumentStore(path=path, sparse_model=SPARSE_MODEL).write_documents(documents)
    unnamed.write_documents(_random_documents(rng, 2)[1:])  # recorded: further writes need not name it
    other = SQLiteDocumentStore(path=path, sparse_model="opensearch-neural-sparse-encoding-v1")
    with pytest.raises(IndexMismatchError, match=r"holds sparse embeddings of .*doc-v3-gte 1\.0\.0, not .*-v1 1\.0\.1"):
        other.write_documents([Document(content="x", sparse_embedding=SparseEmbedding(indices=[1], values=[1.0]))])
    with pytest.raises(IndexMismatchError):
        other.sparse_retrieval(SparseEmbedding(indices=[1], values=[1.0]))
    assert unnamed.count_documents() == 7
    assert SQLiteDocumentStore(path=path).to_dict()["init_parameters"].get("sparse_model") is None
    named = SQLiteDocumentStore(path=path, sparse_model=SPARSE_MODEL)
    assert SQLiteDocumentStore.from_dict(named.to_dict()).sparse_model == SPARSE_MODEL


@pytest.mark.parametrize(
    ("indices", "values", "message"),
    [
        ([1, 1], [0.5, 0.5], "repeated index"),
        ([1, 2], [0.5, 0.0], r"sparse weight 0\.0 at index 2"),
        ([3], [-1.0], r"sparse weight -1\.0 at index 3"),
        ([3], [float("nan")], "sparse weight nan"),
        ([3], [1e-40], "positive normal float32"),
    ],
)
def test_weights_a_rank_features_field_refuses_are_refused_before_anything_is_written(store, indices, values, message):
    good = Document(content="fine", sparse_embedding=SparseEmbedding(indices=[1], values=[1.0]))
    bad = Document(content="bad", sparse_embedding=SparseEmbedding(indices=indices, values=values))
    with pytest.raises(ValueError, match=message):
        store.write_documents([good, bad])
    assert store.count_documents() == 0


def test_query_weights_outside_what_neural_sparse_accepts_are_refused(store, rng):
    store.write_documents(_random_documents(rng, 3))
    for values in ([0.0], [65.0], [-1.0]):
        with pytest.raises(ValueError, match=r"outside \(0, 64\]"):
            store.sparse_retrieval(SparseEmbedding(indices=[1], values=values))
    assert store.sparse_retrieval(SparseEmbedding(indices=[], values=[])) == []


def test_a_store_with_no_sparse_embeddings_finds_nothing(tmp_path):
    store = SQLiteDocumentStore(path=str(tmp_path / "s.sqlite"), model="all-MiniLM-L6-v2")
    store.write_documents([Document(content="dense only")])
    assert store.sparse_retrieval(SparseEmbedding(indices=[1], values=[1.0])) == []


def test_sparse_embeddings_stored_before_the_postings_existed_are_indexed_on_the_next_write(
    store, rng, assert_exact_sparse
):
    documents = _random_documents(rng, 40)
    store.write_documents(documents[:30])
    store.close()
    with sqlite3.connect(store.path) as connection:  # the store as an older version left it: embeddings in rows
        for name in ("sparse_postings_ai", "sparse_postings_ad", "sparse_postings_au"):
            connection.execute(f"DROP TRIGGER {name}")
        connection.execute("DROP TABLE sparse_postings")
        connection.execute("DROP TABLE sparse_model")
    store.write_documents(documents[30:])
    for query in _queries(rng):
        assert_exact_sparse(store, query)


def test_hybrid_with_sparse_fuses_the_sub_queries_as_the_fusion_functions_do(store, rng):
    documents = _random_documents(rng, 80)
    vectors = rng.normal(size=(80, 384)).astype(np.float32)
    store.write_documents(
        [Document(id=d.id, content=f"{d.content} word{i % 7}", meta=d.meta, sparse_embedding=d.sparse_embedding,
                  embedding=vectors[i].tolist()) for i, d in enumerate(documents)]
    )  # fmt: skip
    query, query_vector = _queries(rng, 1)[0], rng.normal(size=384).tolist()
    by_id = {d.id: vectors[i] for i, d in enumerate(documents)}
    with_vectors = store.sparse_retrieval(query, top_k=5, return_embedding=True)
    assert with_vectors and all(np.array_equal(d.embedding, by_id[d.id]) for d in with_vectors)
    hybrid_with_vectors = store.sparse_hybrid_retrieval(query, query="word3", top_k=5, return_embedding=True)
    assert all(np.array_equal(d.embedding, by_id[d.id]) for d in hybrid_with_vectors)
    sides = [
        store.bm25_retrieval("word3", top_k=10),
        store.embedding_retrieval(query_vector, top_k=10),
        store.sparse_retrieval(query, top_k=10),
    ]
    for fusion, weights in (("rrf", None), ("min_max", [0.2, 0.3, 0.5]), ("z_score", None)):
        expected = fuse([[(d.id, d.score) for d in side] for side in sides], fusion, weights=weights)[:10]
        found = store.sparse_hybrid_retrieval(
            query, query="word3", query_embedding=query_vector, fusion=fusion, weights=weights, top_k=10
        )
        assert [d.id for d in found] == [key for key, _ in expected]
        assert [d.score for d in found] == pytest.approx([score for _, score in expected], rel=1e-12)
    sparse_and_bm25 = fuse([[(d.id, d.score) for d in side] for side in (sides[0], sides[2])], "rrf")[:10]
    assert [(d.id, d.score) for d in store.sparse_hybrid_retrieval(query, query="word3")] == sparse_and_bm25
    with pytest.raises(ValueError, match="needs query"):
        store.sparse_hybrid_retrieval(query)
    with pytest.raises(ValueError, match="one value per sub-query"):
        store.sparse_hybrid_retrieval(query, query="word3", weights=[1.0], fusion="min_max")
