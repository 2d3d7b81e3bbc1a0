"""OpenSearch 3.x hybrid options (issue 21): z-score, min-max lower bounds and min_score — the cluster pipeline
builders on the real node, and the SQLite store's fusion (``scoring.fuse``) ranking like the node on the node's own
sub-query results."""

import numpy as np
import pytest
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch

from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralRetriever
from haystack_integrations.document_stores.opensearch_pretrained.scoring import LowerBound, fuse
from opensearch_pretrained_haystack.cluster import MLCommonsClient, UnsupportedServerError
from opensearch_pretrained_haystack.indices.neural import create_hybrid_search_pipeline, hybrid_search_pipeline_body

TEXTS = [
    "rice is cooked in a pot with water and salt",
    "fried rice with egg, soy sauce and rice from yesterday",
    "risotto: arborio rice stirred with stock",
    "bread is baked in a hot oven",
    "a bowl of rice and beans",
    "pasta boiled in salted water",
    "the rice harvest in the paddies of Asia, where rice grows in water",
    "soup with noodles and vegetables",
    "a cake with cream and strawberries",
    "rice",
]
QUERY_VECTOR = [0.3, -0.1, 0.5, 0.2, -0.4, 0.1, 0.0, 0.6]
BOUNDS = [LowerBound("apply", 0.8), LowerBound("clip", 0.05)]


def test_pipeline_bodies_for_z_score_and_lower_bounds():
    z = hybrid_search_pipeline_body((0.4, 0.6), normalization="z_score")["phase_results_processors"][0]
    assert z["normalization-processor"]["normalization"] == {"technique": "z_score"}
    bounded = hybrid_search_pipeline_body(lower_bounds=BOUNDS)["phase_results_processors"][0]
    assert bounded["normalization-processor"]["normalization"] == {
        "technique": "min_max",
        "parameters": {"lower_bounds": [{"mode": "apply", "min_score": 0.8}, {"mode": "clip", "min_score": 0.05}]},
    }
    with pytest.raises(ValueError, match="lower_bounds take min_max"):
        hybrid_search_pipeline_body(normalization="z_score", lower_bounds=BOUNDS)


@pytest.fixture
def hybrid_index(opensearch_url, index_name):
    """One shard (the processors normalize over all shards' hits; one shard keeps the sub-query lists whole)."""
    client = OpenSearch(hosts=opensearch_url)
    client.indices.create(index=index_name, body={
        "settings": {"index.knn": True, "number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"content": {"type": "text"}, "embedding": {
            "type": "knn_vector", "dimension": 8, "method": {"name": "hnsw", "space_type": "l2", "engine": "lucene"}}}},
    })  # fmt: skip
    vectors = np.random.default_rng(21).normal(size=(len(TEXTS), 8)).round(3)
    for number, (text, vector) in enumerate(zip(TEXTS, vectors, strict=True)):
        client.index(index=index_name, id=str(number), body={"content": text, "embedding": vector.tolist()})
    client.indices.refresh(index=index_name)
    return client, index_name, opensearch_url


def _hits(client, index, query, *, pipeline=None, min_score=None):
    body = {"query": query, "size": len(TEXTS), "_source": False}
    if min_score is not None:
        body["min_score"] = min_score
    found = client.search(index=index, body=body, params={"search_pipeline": pipeline} if pipeline else {})
    return [(hit["_id"], hit["_score"]) for hit in found["hits"]["hits"]]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("fusion", "options"), [("z_score", {}), ("min_max", {"lower_bounds": BOUNDS})], ids=["z_score", "lower_bounds"]
)
def test_the_store_fusion_ranks_like_the_node_on_the_same_sub_query_results(hybrid_index, fusion, options):
    client, index, _ = hybrid_index
    pipeline = f"{index}-{fusion}"
    if MLCommonsClient(client).server_profile().version < (3, 0, 0):
        feature = "z_score normalization" if fusion == "z_score" else "lower_bounds"
        with pytest.raises(UnsupportedServerError, match=rf"{feature}: it needs 3\.0\.0 or newer"):
            create_hybrid_search_pipeline(client, pipeline, fusion=fusion, **options)
        assert not client.search_pipeline.get(id=pipeline, ignore=[404]).get(pipeline)
        return
    _assert_node_and_store_fuse_alike(client, index, pipeline, fusion, options)


@pytest.mark.integration
def test_min_score_filters_fused_scores_on_3_5_and_is_refused_before_it(hybrid_index):
    client, index, url = hybrid_index
    store = OpenSearchDocumentStore(hosts=url, index=index)
    retriever = OpenSearchNeuralRetriever(
        document_store=store, model_id="unused", hybrid_search_pipeline="unused", min_score=0.3
    )
    if MLCommonsClient(client).server_profile().version < (3, 5, 0):
        with pytest.raises(UnsupportedServerError, match=r"min_score .* it needs 3\.5\.0 or newer"):
            retriever.run(query="rice")
        return
    body, _ = retriever._request("rice", None, None)
    assert body["min_score"] == 0.3
    _assert_node_and_store_fuse_alike(client, index, f"{index}-min-score", "min_max", {"min_score": 0.3})


def _assert_node_and_store_fuse_alike(client, index, pipeline, fusion, options):
    """The hybrid query through the node's pipeline, and ``fuse`` over the same two sub-queries run alone."""
    match = {"match": {"content": "rice water"}}
    knn = {"knn": {"embedding": {"vector": QUERY_VECTOR, "k": len(TEXTS)}}}
    sub_results = [_hits(client, index, match), _hits(client, index, knn)]
    assert 0 < len(sub_results[0]) < len(TEXTS) and len(sub_results[1]) == len(TEXTS)
    weights = (0.3, 0.7)
    create_hybrid_search_pipeline(
        client, pipeline, weights=weights, fusion=fusion, lower_bounds=options.get("lower_bounds")
    )
    try:
        node = _hits(client, index, {"hybrid": {"queries": [match, knn]}}, pipeline=pipeline,
                     min_score=options.get("min_score"))  # fmt: skip
    finally:
        client.search_pipeline.delete(id=pipeline)
    local = fuse(sub_results, fusion, weights=weights, **options)
    print(f"{fusion} {options}: node {node}")
    assert [doc for doc, _ in local] == [doc for doc, _ in node]
    assert [score for _, score in local] == pytest.approx([score for _, score in node], rel=1e-6)
    if "min_score" in options:
        assert 0 < len(node) < len(TEXTS) and min(score for _, score in node) >= 0.3
