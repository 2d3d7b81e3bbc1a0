"""Semantic fields (issue 21): the index body, and on a server without them a one-line refusal before any index
exists. (Ingest and retrieval through a semantic field need 3.1+.)"""

import pytest
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.cluster import MLCommonsClient, UnsupportedServerError
from opensearch_pretrained_haystack.cluster.errors import ModelNotFoundError
from opensearch_pretrained_haystack.indices.semantic import (
    create_semantic_index,
    semantic_custom_query,
    semantic_index_body,
)


def test_dense_and_sparse_semantic_bodies_carry_the_3_x_settings():
    dense = semantic_index_body(
        "m1", chunking=True, mode="on_disk", compression_level="4x", batch_size=20, skip_existing_embedding=True
    )
    assert dense["settings"] == {"index.knn": True, "index.neural_search.semantic_ingest_batch_size": 20}
    assert dense["mappings"]["properties"]["content"] == {
        "type": "semantic", "model_id": "m1", "chunking": True, "skip_existing_embedding": True,
        "dense_embedding_config": {"method": {"engine": "lucene"}, "mode": "on_disk", "compression_level": "4x"},
    }  # fmt: skip
    prune = {"prune_type": "top_k", "prune_ratio": 50}
    sparse = semantic_index_body("doc", search_model_id="tok", sparse=True, prune=prune)
    assert sparse["mappings"]["properties"]["content"] == {
        "type": "semantic", "model_id": "doc", "search_model_id": "tok",
        "sparse_encoding_config": prune,
    }  # fmt: skip
    with pytest.raises(ValueError, match="compression_level are for a dense model"):
        semantic_index_body("doc", sparse=True, compression_level="4x")
    with pytest.raises(ValueError, match="between 1 and 100"):
        semantic_index_body("m1", batch_size=500)
    assert semantic_custom_query(k=5) == {"query": {"neural": {"content": {"query_text": "$query", "k": 5}}}}


@pytest.mark.integration
def test_a_server_before_3_1_refuses_a_semantic_field_before_any_index_exists(opensearch_url, index_name):
    client = OpenSearch(hosts=opensearch_url)
    if MLCommonsClient(client).server_profile().version >= (3, 1, 0):
        # 3.1+ reaches the model check: an unknown model is refused before the index is created
        with pytest.raises(ModelNotFoundError, match="no-such-model"):
            create_semantic_index(client, index_name, "no-such-model")
    else:
        with pytest.raises(UnsupportedServerError, match=r"has no semantic fields: it needs 3\.1\.0 or newer"):
            create_semantic_index(client, index_name, "no-such-model")
    assert not client.indices.exists(index=index_name)
