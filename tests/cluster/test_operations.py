"""The operations are generators: these tests play the cluster's part by sending responses in."""

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opensearch_pretrained_haystack.cluster import operations as ops
from opensearch_pretrained_haystack.cluster.errors import (
    DeployFailedError,
    OperationTimeoutError,
    RequestRejectedError,
    TaskFailedError,
)
from opensearch_pretrained_haystack.cluster.protocol import Call, Sleep
from opensearch_pretrained_haystack.cluster.versions import ServerProfile

V219 = ServerProfile((2, 19, 1))
V210 = ServerProfile((2, 10, 0))
V26 = ServerProfile((2, 6, 0))


def play(operation: Generator, responses: list[Any]) -> tuple[list[Any], Any]:
    """Send `responses` in order (an Exception is thrown instead); return the steps seen and the result."""
    steps = [next(operation)]
    try:
        for response in responses:
            if isinstance(response, Exception):
                steps.append(operation.throw(response))
            else:
                steps.append(operation.send(None if isinstance(steps[-1], Sleep) else response))
    except StopIteration as done:
        return steps, done.value
    raise AssertionError(f"operation still running after {len(responses)} responses; last step {steps[-1]}")


CONFIG = {
    "name": "test/tiny",
    "version": "1.0.0",
    "description": "d",
    "model_task_type": "TEXT_EMBEDDING",
    "model_format": "ONNX",
    "model_content_hash_value": "abc",
    "model_content_size_in_bytes": 25,
    "model_config": {"model_type": "bert", "embedding_dimension": 4, "framework_type": "huggingface_transformers"},
}


def test_wait_for_task_polls_with_growing_intervals_until_completed():
    running = {"state": "RUNNING"}
    steps, task = play(
        ops.wait_for_task("t1", timeout=60),
        [running, None, running, None, running, None, {"state": "COMPLETED", "model_id": "m1"}],
    )
    sleeps = [s.seconds for s in steps if isinstance(s, Sleep)]
    assert sleeps == sorted(sleeps) and sleeps[0] < sleeps[-1]
    assert task["model_id"] == "m1"
    assert steps[0] == Call("GET", "/_plugins/_ml/tasks/t1")


def test_failed_task_raises_with_the_servers_message():
    with pytest.raises(TaskFailedError, match="This model is not in the pre-trained model list"):
        play(
            ops.wait_for_task("t1", 60),
            [
                {
                    "state": "FAILED",
                    "task_type": "REGISTER_MODEL",
                    "error": "This model is not in the pre-trained model list",
                }
            ],
        )


def test_task_deadline():
    with pytest.raises(OperationTimeoutError, match="still RUNNING"):
        play(ops.wait_for_task("t1", timeout=0), [{"state": "RUNNING"}])


def test_upload_model_sends_meta_then_zero_based_raw_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ops, "CHUNK_SIZE", 10)
    zip_path = tmp_path / "m.zip"
    zip_path.write_bytes(bytes(range(25)))
    steps, model_id = play(ops.upload_model(V219, zip_path, CONFIG), [{"model_id": "m1"}, {}, {}, {}, {}])
    meta, *chunks, update = steps[:-1] if steps[-1] is None else steps
    assert meta.path == "/_plugins/_ml/models/_register_meta"
    # the last chunk drops the description (ml-commons MLModelChunkUploader): put back with the package's mark
    assert (update.method, update.path) == ("PUT", "/_plugins/_ml/models/m1")
    assert update.body == {"description": f"d {ops.PACKAGE_MARK}"}
    assert meta.body["total_chunks"] == 3 and meta.body["function_name"] == "TEXT_EMBEDDING"
    assert meta.body["model_content_hash_value"] == "abc" and "model_group_id" not in meta.body
    assert [c.path for c in chunks] == [f"/_plugins/_ml/models/m1/upload_chunk/{n}" for n in range(3)]
    assert b"".join(c.body for c in chunks) == bytes(range(25))
    assert model_id == "m1"


def test_legacy_server_uses_legacy_upload_routes(tmp_path: Path):
    zip_path = tmp_path / "m.zip"
    zip_path.write_bytes(b"x")
    steps, _ = play(ops.upload_model(V26, zip_path, CONFIG), [{"model_id": "m1"}, {}])
    assert [s.path for s in steps] == ["/_plugins/_ml/models/meta", "/_plugins/_ml/models/m1/chunk/0"]


def test_2_10_registers_into_the_group_named_after_the_model_reusing_an_existing_one():
    duplicate = RequestRejectedError(
        "x", status=400, reason="The name you provided is already being used by a model group with ID: G-1."
    )
    steps, model_id = play(
        ops.register_pretrained(V210, "huggingface/x", "1.0.1", "ONNX", 60),
        [duplicate, {"task_id": "t"}, {"state": "COMPLETED", "model_id": "m"}],
    )
    assert steps[0].path == "/_plugins/_ml/model_groups/_register"
    assert steps[1].body == {
        "name": "huggingface/x",
        "version": "1.0.1",
        "model_format": "ONNX",
        "description": ops.PACKAGE_MARK,
        "model_group_id": "G-1",
    }
    assert model_id == "m"


def test_deploy_failure_reports_node_messages_and_breaker_advice():
    error = json.dumps({"node1": "Memory Circuit Breaker is open, please check your resources!"})
    with pytest.raises(DeployFailedError, match=r"node1: Memory Circuit Breaker.*native_memory_threshold"):
        play(ops.deploy(V219, "m", 60), [{"task_id": "t"}, {"state": "FAILED", "error": error}])


def test_deploy_waits_for_task_then_checks_state():
    steps, model = play(
        ops.deploy(V219, "m", 60), [{"task_id": "t"}, {"state": "COMPLETED"}, {"model_state": "DEPLOYED"}]
    )
    assert steps[0] == Call("POST", "/_plugins/_ml/models/m/_deploy")
    assert model == {"model_state": "DEPLOYED", "model_id": "m"}


def test_deploy_waits_while_the_model_is_still_deploying_after_its_task_completed():
    # ML Commons 3.6 reports the deploy task COMPLETED while the model is still DEPLOYING for a moment.
    steps, model = play(
        ops.deploy(V219, "m", 60),
        [{"task_id": "t"}, {"state": "COMPLETED"}, {"model_state": "DEPLOYING"}, None, {"model_state": "DEPLOYED"}],
    )
    assert isinstance(steps[3], Sleep)
    assert model["model_state"] == "DEPLOYED"


def test_deploy_refuses_a_model_left_in_another_state():
    with pytest.raises(DeployFailedError, match="state is DEPLOY_FAILED"):
        play(ops.deploy(V219, "m", 60), [{"task_id": "t"}, {"state": "COMPLETED"}, {"model_state": "DEPLOY_FAILED"}])


def test_predict_body_and_parsing():
    response = {
        "inference_results": [
            {"output": [{"name": "token_embeddings", "data": [9, 9]}, {"name": "sentence_embedding", "data": [1, 2]}]},
            {"output": [{"name": "sentence_embedding", "data": [3, 4]}]},
        ]
    }
    steps, vectors = play(ops.predict("m", ["a", "b"], timeout=5), [response])
    assert steps[0].body == {"text_docs": ["a", "b"], "return_number": True, "target_response": ["sentence_embedding"]}
    assert steps[0].timeout == 5
    np.testing.assert_array_equal(vectors, np.array([[1, 2], [3, 4]], dtype=np.float32))


def test_search_leaves_out_chunks_and_survives_a_missing_index():
    from opensearch_pretrained_haystack.cluster.errors import ResourceNotFoundError

    steps, found = play(ops.find_models("n", "ONNX"), [ResourceNotFoundError("x", status=404, reason="no such index")])
    assert found == []
    assert steps[0].body["query"]["bool"]["must_not"] == {"exists": {"field": "chunk_number"}}
