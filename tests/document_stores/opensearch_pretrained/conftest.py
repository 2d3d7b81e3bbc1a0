"""What the SQLite store tests share: brute-force k-NN over the documents the store holds, in float64, and brute-force
sparse search with the cluster's arithmetic (``neural_sparse`` over ``rank_features``)."""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Callable

import numpy as np
import pytest
from haystack import Document
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore


def _brute_force(store: SQLiteDocumentStore, query: list[float], top_k: int) -> list[tuple[str, float]]:
    """(id, score) of the ``top_k`` nearest stored documents, every vector scored in float64 with the formula of
    the store's k-NN space, ties by order of writing."""
    documents = [d for d in store.filter_documents() if d.embedding is not None]
    x = np.asarray([d.embedding for d in documents], np.float64).reshape(len(documents), -1)
    q = np.asarray(query, np.float64)
    space = store.store_model.space_type
    if space == "l2":
        scores = 1.0 / (1.0 + ((x - q) ** 2).sum(axis=1))
    elif space == "cosinesimil":
        scores = (1.0 + x @ q / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))) / 2.0
    else:
        dots = x @ q
        scores = np.where(dots >= 0, dots + 1.0, 1.0 / (1.0 - np.minimum(dots, 0.0)))
    order = sorted(range(len(documents)), key=lambda i: -scores[i])[:top_k]  # stable: ties keep writing order
    return [(documents[i].id, float(scores[i])) for i in order]


def _assert_exact_dense(store: SQLiteDocumentStore, query: list[float], top_k: int = 10) -> None:
    """The store's dense search returns the brute-force top-k, in order, with the same scores."""
    found = [(d.id, d.score) for d in store.embedding_retrieval(query, top_k=top_k)]
    expected = _brute_force(store, query, top_k)
    assert [doc_id for doc_id, _ in found] == [doc_id for doc_id, _ in expected]
    assert [score for _, score in found] == pytest.approx([score for _, score in expected], rel=1e-5)


@pytest.fixture
def assert_exact_dense() -> Callable[..., None]:
    return _assert_exact_dense


@pytest.fixture
def brute_force() -> Callable[[SQLiteDocumentStore, list[float], int], list[tuple[str, float]]]:
    return _brute_force


def _float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _rank_feature(value: float) -> float:
    """What Lucene's FeatureField keeps of a weight: the float32 bits with the low 15 cleared."""
    bits = struct.unpack("<I", struct.pack("<f", value))[0] & 0xFFFF8000
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _sparse_brute_force(documents: list[Document], query: SparseEmbedding, top_k: int) -> list[tuple[str, float]]:
    """Every document scored as neural_sparse scores rank_features: float32 clause scores summed in double."""
    weights = {index: _float32(value) for index, value in zip(query.indices, query.values, strict=True)}
    scored = []
    for position, doc in enumerate(documents):
        assert doc.sparse_embedding is not None
        clauses = [
            _float32(weights[index] * _rank_feature(value))
            for index, value in zip(doc.sparse_embedding.indices, doc.sparse_embedding.values, strict=True)
            if index in weights
        ]
        if clauses:
            scored.append((-_float32(sum(clauses)), position, doc.id))
    return [(doc_id, -score) for score, _, doc_id in sorted(scored)[:top_k]]


def _assert_exact_sparse(store: SQLiteDocumentStore, query: SparseEmbedding, top_k: int = 10) -> None:
    """The store's sparse search returns the brute-force top-k, in order, with the same scores, and holds one
    posting per stored weight."""
    found = [(d.id, d.score) for d in store.sparse_retrieval(query, top_k=top_k)]
    stored = [d for d in store.filter_documents() if d.sparse_embedding is not None]
    assert found == _sparse_brute_force(stored, query, top_k)
    with sqlite3.connect(store.path) as connection:
        postings = connection.execute("SELECT count(*) FROM sparse_postings").fetchone()[0]
    assert postings == sum(len(d.sparse_embedding.indices) for d in stored)


@pytest.fixture
def assert_exact_sparse() -> Callable[..., None]:
    return _assert_exact_sparse


@pytest.fixture
def sparse_brute_force() -> Callable[..., list[tuple[str, float]]]:
    return _sparse_brute_force
