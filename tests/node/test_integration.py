"""The test node against a real cluster: plugins, a lucene k-NN index, and a local model deployed offline.

The ML Commons REST calls are kept minimal and local on purpose; the real client lives in
``opensearch_pretrained_haystack.cluster``.
"""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.node.process import cluster_is_ready

pytestmark = pytest.mark.integration

ML = "/_plugins/_ml"
CHUNK_BYTES = 10_000_000  # ML Commons rejects larger chunks
DEPLOY_DEADLINE_S = 300
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MODEL_DIR = SHARED / "mirror/models/ml-models/huggingface/sentence-transformers/all-MiniLM-L6-v2/1.0.1"
REFERENCE_DIR = SHARED / "reference/all-MiniLM-L6-v2-1.0.1"


@pytest.fixture(scope="module")
def client(opensearch_url: str) -> OpenSearch:
    return OpenSearch(hosts=[opensearch_url], timeout=120)


def test_plugins_are_installed(client: OpenSearch) -> None:
    components = {row["component"] for row in client.cat.plugins(format="json")}
    assert {"opensearch-job-scheduler", "opensearch-knn", "opensearch-ml", "opensearch-neural-search"} <= components


def test_lucene_knn_index_finds_the_nearest_vector(client: OpenSearch) -> None:
    index = f"knn-{uuid.uuid4().hex[:8]}"
    client.indices.create(
        index=index,
        body={
            "settings": {"index.knn": True, "number_of_replicas": 0},
            "mappings": {
                "properties": {
                    "vector": {
                        "type": "knn_vector",
                        "dimension": 3,
                        "method": {"name": "hnsw", "engine": "lucene", "space_type": "l2"},
                    }
                }
            },
        },
    )
    try:
        for doc_id, vector in {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0], "c": [0.0, 0.0, 1.0]}.items():
            client.index(index=index, id=doc_id, body={"vector": vector})
        client.indices.refresh(index=index)
        query = {"knn": {"vector": {"vector": [0.1, 0.9, 0.2], "k": 2}}}
        reply = client.search(index=index, body={"size": 1, "query": query})
        assert reply["hits"]["hits"][0]["_id"] == "b"
    finally:
        client.indices.delete(index=index)


def test_an_index_with_a_replica_leaves_the_node_ready(client: OpenSearch, opensearch_url: str) -> None:
    # Issue 14 item 15: one node cannot place a replica, so the cluster stays yellow; the node must still count as
    # started (it used to wait 180 s for green, then stop the node).
    index = f"replica-{uuid.uuid4().hex[:8]}"
    client.indices.create(index=index, body={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    try:
        health = client.cluster.health(index=index, wait_for_status="yellow")
        assert health["active_primary_shards"] == 1
        assert cluster_is_ready(opensearch_url)
    finally:
        client.indices.delete(index=index)


def test_onnx_model_deploys_and_embeds(client: OpenSearch) -> None:
    model_id = _register_by_chunks(client, MODEL_DIR / "onnx")
    try:
        started = time.monotonic()
        _deploy(client, model_id)
        print(f"ONNX all-MiniLM-L6-v2 deployed in {time.monotonic() - started:.1f} s")
        text, expected = _reference_pair()
        embedding = _embed(client, model_id, text)
        assert embedding.shape == (384,)
        np.testing.assert_allclose(embedding, expected, atol=1e-4)
    finally:
        _undeploy_and_delete(client, model_id)


def test_torchscript_model_deploys_and_embeds(client: OpenSearch) -> None:
    """Informational: the mirror's TorchScript was traced with a newer torch than the node's 1.13.1."""
    model_id = _register_by_chunks(client, MODEL_DIR / "torch_script")
    try:
        text, expected = _reference_pair()
        try:
            _deploy(client, model_id)
            embedding = _embed(client, model_id, text)
        except AssertionError as error:
            pytest.xfail(f"TorchScript artifact does not run on OpenSearch 2.19.1: {error}")
        assert embedding.shape == (384,)
        np.testing.assert_allclose(embedding, expected, atol=1e-4)
    finally:
        _undeploy_and_delete(client, model_id)


def _register_by_chunks(client: OpenSearch, artifact_dir: Path) -> str:
    """Register a model zip with _register_meta + 0-based upload_chunk calls; metadata from its config.json."""
    config = json.loads((artifact_dir / "config.json").read_text())
    content = next(artifact_dir.glob("*.zip")).read_bytes()
    chunks = [content[start : start + CHUNK_BYTES] for start in range(0, len(content), CHUNK_BYTES)]
    meta = _call(
        client,
        "POST",
        f"{ML}/models/_register_meta",
        {
            "name": config["name"],
            "version": config["version"],
            "model_format": config["model_format"],
            "model_task_type": config["model_task_type"],
            "model_config": config["model_config"],
            "model_content_hash_value": config["model_content_hash_value"],
            "model_content_size_in_bytes": config["model_content_size_in_bytes"],
            "total_chunks": len(chunks),
        },
    )
    model_id = meta["model_id"]
    for number, chunk in enumerate(chunks):
        _call(client, "POST", f"{ML}/models/{model_id}/upload_chunk/{number}", chunk)
    return model_id


def _deploy(client: OpenSearch, model_id: str) -> None:
    task_id = _call(client, "POST", f"{ML}/models/{model_id}/_deploy")["task_id"]
    deadline = time.monotonic() + DEPLOY_DEADLINE_S
    while time.monotonic() < deadline:
        state = _call(client, "GET", f"{ML}/models/{model_id}").get("model_state")
        if state == "DEPLOYED":
            return
        task = _call(client, "GET", f"{ML}/tasks/{task_id}")
        if task.get("state") == "FAILED" or state == "DEPLOY_FAILED":
            raise AssertionError(f"deploy failed: {task.get('error')}")
        time.sleep(2)
    raise AssertionError(f"model {model_id} not DEPLOYED within {DEPLOY_DEADLINE_S} s")


def _reference_pair() -> tuple[str, np.ndarray]:
    """The first reference text and the sentence-transformers vector ML Commons should return for it."""
    texts = json.loads((REFERENCE_DIR / "texts.json").read_text())
    return texts[0], np.load(REFERENCE_DIR / "st_max128.npy")[0]


def _embed(client: OpenSearch, model_id: str, text: str) -> np.ndarray:
    reply = _call(
        client,
        "POST",
        f"{ML}/_predict/text_embedding/{model_id}",
        {"text_docs": [text], "target_response": ["sentence_embedding"]},
    )
    output = reply["inference_results"][0]["output"][0]
    assert output["name"] == "sentence_embedding"
    return np.asarray(output["data"], dtype=np.float32)


def _undeploy_and_delete(client: OpenSearch, model_id: str) -> None:
    _call(client, "POST", f"{ML}/models/{model_id}/_undeploy")
    deadline = time.monotonic() + 60
    while _call(client, "GET", f"{ML}/models/{model_id}").get("model_state") in {"DEPLOYED", "DEPLOYING"}:
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    _call(client, "DELETE", f"{ML}/models/{model_id}")


def _call(client: OpenSearch, method: str, path: str, body: Any = None) -> dict[str, Any]:
    return client.transport.perform_request(method, path, body=body)
