"""What the SQLite store tests share: brute-force k-NN over the documents the store holds, in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

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
