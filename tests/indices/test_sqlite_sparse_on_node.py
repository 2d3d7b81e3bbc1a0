"""The SQLite store's sparse search against the cluster's: the same documents, encoded once on this machine by the
tiny sparse encoder, written into the store and into a rank_features index, then searched with the same query maps
(the query tokenizer's, and the bi-encoder's) — the same hits and scores, to the last float."""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalSparseDocumentEmbedder,
    LocalSparseTextEmbedder,
)
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.indices.sparse import SPARSE_FIELD, sparse_document_store, write_sparse_documents
from tests.indices.test_sparse import corpus
from tests.sparse_models import SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR

pytestmark = pytest.mark.integration


def _cluster_hits(client: OpenSearch, index: str, weights: dict[str, float], top_k: int) -> list[tuple[str, float]]:
    body = {"size": top_k, "query": {"neural_sparse": {SPARSE_FIELD: {"query_tokens": weights}}}, "_source": False}
    hits = client.search(index=index, body=body)["hits"]["hits"]
    return [(hit["_id"], float(np.float32(hit["_score"]))) for hit in hits]  # the JSON prints a float32 score


def test_store_sparse_search_equals_the_clusters_neural_sparse_query(opensearch_url, index_name, tmp_path):
    docs = [Document(content=d.content, meta=d.meta) for d in corpus()]
    encoder = LocalSparseDocumentEmbedder(model=str(SPARSE_ENCODER_DIR), progress_bar=False)
    queries = [" ".join(d.content.split()[:6]) for d in docs[::7]]
    try:
        encoded = encoder.run(documents=docs)["documents"]
        vocabulary = encoder._backend.warm_up().vocabulary
        index = sparse_document_store(opensearch_url, index_name, number_of_replicas=0)
        assert write_sparse_documents(index, encoded, vocabulary=vocabulary) == len(docs)
        store = SQLiteDocumentStore(
            path=str(tmp_path / "store.sqlite"), model="all-MiniLM-L6-v2", sparse_model=str(SPARSE_ENCODER_DIR)
        )
        store.write_documents(encoded)
        client = OpenSearch(hosts=opensearch_url)
        compared = 0
        for query_model in (SPARSE_TOKENIZER_DIR, SPARSE_ENCODER_DIR):  # inference-free, and the bi-encoder
            text_embedder = LocalSparseTextEmbedder(model=str(query_model), progress_bar=False)
            try:
                for text in queries:
                    query = text_embedder.run(text=text)["sparse_embedding"]
                    expected = _cluster_hits(client, index_name, vocabulary.to_token_weights(query), 10)
                    found = [(d.id, d.score) for d in store.sparse_retrieval(query, top_k=10)]
                    assert found == expected, text
                    compared += len(expected)
            finally:
                text_embedder.close()
        assert compared > 2 * len(queries)  # the queries found documents
    finally:
        encoder.close()
