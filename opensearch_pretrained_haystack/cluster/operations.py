"""
ML Commons operations, written once as I/O-free generators (see `protocol.py`).

Each function yields `Call`/`Sleep` steps and returns a plain value. Route names and model-group
rules come from `ServerProfile` (`versions.py`); nothing here knows whether it runs sync or async.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from opensearch_pretrained_haystack.cluster.errors import (
    BREAKER_HINT,
    DeployFailedError,
    MalformedResponseError,
    MLCommonsError,
    ModelNotFoundError,
    OperationTimeoutError,
    RequestRejectedError,
    TaskFailedError,
    is_breaker_reason,
)
from opensearch_pretrained_haystack.cluster.protocol import Call, Deadline, Operation, Sleep, poll_intervals
from opensearch_pretrained_haystack.cluster.versions import ML, ServerProfile

logger = logging.getLogger(__name__)

CHUNK_SIZE = 10_000_000
"""ML Commons refuses chunks over 10,000,000 bytes ("Chunk size exceeds 10MB")."""

FAILED_TASK_STATES = frozenset({"FAILED", "COMPLETED_WITH_ERROR", "CANCELLED", "EXPIRED", "UNREACHABLE"})
UPDATE_MODEL_VERSION = (2, 12, 0)
PACKAGE_MARK = "(registered by opensearch-pretrained-haystack)"
"""Ends the description of every model this package registers (`models deployed` shows which those are)."""
# ML Commons 3.x's update model API refuses a description with any other character ("Model Description can only
# contain letters, numbers, spaces, and basic punctuation (.,!?():@-_'/")", seen on 3.6.0); register accepts more,
# but what is registered must survive the update that restores it after a chunked upload.
_NOT_IN_A_DESCRIPTION = re.compile(r"""[^\w .,!?():@\-'/"]+""")
DEPLOYED_STATES = frozenset({"DEPLOYED", "PARTIALLY_DEPLOYED", "LOADED", "PARTIALLY_LOADED"})
NOT_A_CHUNK = {"bool": {"must_not": {"exists": {"field": "chunk_number"}}}}
_GROUP_ID = re.compile(r"model group with ID:\s*([\w-]+)")


def server_profile() -> Operation[ServerProfile]:
    """Read the server version and derive its routes."""
    info = yield Call("GET", "/")
    return ServerProfile.parse(info["version"]["number"])


def wait_for_task(task_id: str, timeout: float) -> Operation[dict[str, Any]]:
    """Poll a task with growing intervals until COMPLETED; raise with the server's message otherwise."""
    deadline = Deadline(timeout)
    intervals = poll_intervals()
    while True:
        task: dict[str, Any] = yield Call("GET", f"{ML}/tasks/{task_id}")
        state = task.get("state")
        if state == "COMPLETED":
            return task
        if state in FAILED_TASK_STATES:
            reason = str(task.get("error") or "no error message")
            msg = f"ML Commons task {task_id} ({task.get('task_type')}) ended {state}: {reason}"
            raise TaskFailedError(msg, task_id=task_id, task=task, reason=reason)
        if deadline.expired():
            msg = (
                f"ML Commons task {task_id} is still {state} after {timeout:g} s; "
                "raise the timeout or check the cluster."
            )
            raise OperationTimeoutError(msg)
        yield Sleep(min(next(intervals), deadline.remaining()))


def model_group_id(profile: ServerProfile, name: str) -> Operation[str | None]:
    """The id of the group named `name` on servers that need one (2.8–2.10), else None."""
    if not profile.needs_named_model_group:
        return None
    try:
        created = yield Call("POST", f"{ML}/model_groups/_register", {"name": name, "description": f"Models {name}"})
    except RequestRejectedError as error:
        existing = _GROUP_ID.search(error.reason or "")
        if existing is None:
            raise
        return existing[1]
    group_id: str = created["model_group_id"]
    return group_id


def _register(profile: ServerProfile, body: dict[str, Any], timeout: float) -> Operation[str]:
    """POST a registration, wait for its task, return the new model id."""
    group = yield from model_group_id(profile, body["name"])
    if group is not None:
        body = {**body, "model_group_id": group}
    response = yield Call("POST", profile.register_path, body)
    task = yield from wait_for_task(response["task_id"], timeout)
    model_id: str = task["model_id"]
    return model_id


def register_pretrained(
    profile: ServerProfile,
    name: str,
    version: str,
    model_format: str,
    timeout: float,
    deploy_setting: dict[str, Any] | None = None,
) -> Operation[str]:
    """Let the cluster download a pretrained model by name (it needs access to the artifacts site)."""
    body: dict[str, Any] = {"name": name, "version": version, "model_format": model_format}
    body["description"] = cluster_description("")
    if deploy_setting:
        body["deploy_setting"] = deploy_setting
    return (yield from _register(profile, body, timeout))


def cluster_description(text: str) -> str:
    """
    ``text`` in the characters every ML Commons version accepts in a model description, ending in the package's mark.
    """
    return " ".join(f"{_NOT_IN_A_DESCRIPTION.sub(' ', text)} {PACKAGE_MARK}".split())


def registration_body(config: dict[str, Any]) -> dict[str, Any]:
    """
    The register fields of an artifact's `config.json`.

    Its `model_task_type`, else its `function_name` (the sentence highlighter's config names only that one:
    QUESTION_ANSWERING), is sent as `function_name`.

    Sparse models (SPARSE_ENCODING, SPARSE_TOKENIZE) have no `model_config`, and ML Commons needs none for them.
    """
    body = {
        "name": config["name"],
        "version": config["version"],
        "description": cluster_description(config.get("description", "")),
        "model_format": config["model_format"],
        "function_name": config.get("model_task_type") or config.get("function_name") or "TEXT_EMBEDDING",
        "model_content_hash_value": config["model_content_hash_value"],
    }
    if "model_config" in config:
        body["model_config"] = config["model_config"]
    if "model_content_size_in_bytes" in config:
        body["model_content_size_in_bytes"] = config["model_content_size_in_bytes"]
    if config.get("deploy_setting"):
        body["deploy_setting"] = config["deploy_setting"]
    return body


def upload_model(profile: ServerProfile, zip_path: Path, config: dict[str, Any]) -> Operation[str]:
    """Register a local zip by `_register_meta` + 0-based `upload_chunk` calls; return the model id."""
    size = zip_path.stat().st_size
    total_chunks = max(1, -(-size // CHUNK_SIZE))
    body = {**registration_body(config), "model_content_size_in_bytes": size, "total_chunks": total_chunks}
    group = yield from model_group_id(profile, body["name"])
    if group is not None:
        body["model_group_id"] = group
    created = yield Call("POST", profile.register_meta_path, body)
    model_id: str = created["model_id"]
    for number, chunk in enumerate(_chunks(zip_path)):
        yield Call("POST", profile.upload_chunk_path(model_id, number), chunk, timeout=120.0)
    # The last chunk rewrites the model document without its description and deploy_setting (ml-commons
    # MLModelChunkUploader, 2.19.0.0 to 3.6.0.0; seen on 2.19.1): put them back (update model API, 2.12+).
    kept = {key: body[key] for key in ("description", "deploy_setting") if body.get(key)}
    if kept and profile.version >= UPDATE_MODEL_VERSION:
        try:
            yield Call("PUT", f"{ML}/models/{model_id}", kept)
        except (RequestRejectedError, ModelNotFoundError) as error:
            # 3.6.0 updates only TEXT_EMBEDDING models ("The function category TEXT_SIMILARITY is not supported at
            # this time") and may not find a model its last chunk just wrote: the model itself is registered.
            logger.warning("Model %s is registered, but its description and deploy settings were not restored: %s",
                           model_id, error)  # fmt: skip
    return model_id


def _chunks(zip_path: Path) -> Iterator[bytes]:
    with zip_path.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk


def deploy(profile: ServerProfile, model_id: str, timeout: float) -> Operation[dict[str, Any]]:
    """Deploy a model and wait until it is DEPLOYED; return the model document."""
    deadline = Deadline(timeout)
    response = yield Call("POST", profile.deploy_path(model_id))
    try:
        yield from wait_for_task(response["task_id"], timeout)
    except TaskFailedError as failure:
        raise _deploy_failure(model_id, failure) from failure
    # ML Commons 3.x can mark the task COMPLETED a moment before the model's own state leaves DEPLOYING.
    intervals = poll_intervals()
    while True:
        model = yield from get_model(model_id)
        state = model.get("model_state")
        if state in DEPLOYED_STATES:
            return model
        if state != "DEPLOYING" or deadline.expired():
            msg = f"Model {model_id}'s deploy task completed but its state is {state}; deploy it again."
            raise DeployFailedError(msg)
        yield Sleep(min(next(intervals), deadline.remaining()))


def _deploy_failure(model_id: str, failure: TaskFailedError) -> DeployFailedError:
    """Unpack the deploy task's `{node_id: message}` error and say what to do about it."""
    try:
        per_node = json.loads(failure.reason or "")
    except ValueError:
        per_node = None
    reason = (
        "; ".join(f"{node}: {message}" for node, message in per_node.items())
        if isinstance(per_node, dict)
        else failure.reason
    )
    hint = BREAKER_HINT if is_breaker_reason(reason or "") else "Check the node log for details."
    return DeployFailedError(f"Deploying model {model_id} failed: {reason}. {hint}", reason=reason)


def undeploy(profile: ServerProfile, model_id: str) -> Operation[dict[str, Any]]:
    """Undeploy a model from every node (the reply may be `{}`)."""
    response: dict[str, Any] = yield Call("POST", profile.undeploy_path(model_id))
    return response


def delete_model(model_id: str) -> Operation[dict[str, Any]]:
    """Delete an undeployed model (and its chunks)."""
    response: dict[str, Any] = yield Call("DELETE", f"{ML}/models/{model_id}")
    return response


def get_model(model_id: str) -> Operation[dict[str, Any]]:
    """The model document, with its id added as `model_id`."""
    model = yield Call("GET", f"{ML}/models/{model_id}")
    return {**model, "model_id": model_id}


def search_models(query: dict[str, Any], size: int = 100) -> Operation[list[dict[str, Any]]]:
    """Model documents matching `query` (chunk documents of uploaded models are left out)."""
    body = {"query": {"bool": {"must": [query], **NOT_A_CHUNK["bool"]}}, "size": size}
    try:
        response = yield Call("POST", f"{ML}/models/_search", body)
    except MLCommonsError as error:
        if error.status == 404 or "index_not_found" in (error.reason or "") or "no such index" in (error.reason or ""):
            return []  # no model was ever registered on this cluster
        raise
    return [{**hit["_source"], "model_id": hit["_id"]} for hit in response["hits"]["hits"]]


def find_models(name: str, model_format: str) -> Operation[list[dict[str, Any]]]:
    """Registered models of this name and format."""
    query = {"bool": {"filter": [{"term": {"name.keyword": name}}, {"term": {"model_format": model_format}}]}}
    return (yield from search_models(query))


def predict_body(texts: list[str], content_type: str | None = None) -> dict[str, Any]:
    """
    Text-embedding predict body asking only for the pooled `sentence_embedding`.

    `content_type` ("query" or "passage") makes an asymmetric model put its registered prefix before each text (ML
    Commons 2.13+).
    """
    body: dict[str, Any] = {"text_docs": texts, "return_number": True, "target_response": ["sentence_embedding"]}
    if content_type is not None:
        body["parameters"] = {"content_type": content_type.upper()}
    return body


def parse_embeddings(response: Any, expected: int) -> np.ndarray:
    """
    float32 (n, dim) from `inference_results[i].output[...]`, one result per text, in order.

    Any other shape (a proxy's error page, a truncated body) is a retryable `MalformedResponseError`.
    """
    try:
        results = response.get("inference_results", [])
        if len(results) != expected:
            msg = f"ML Commons returned {len(results)} embeddings for {expected} texts."
            raise MalformedResponseError(msg)
        rows = []
        for result in results:
            outputs = result["output"]
            chosen = next((o for o in outputs if o.get("name") == "sentence_embedding"), outputs[0])
            rows.append(chosen["data"])
        vectors = np.asarray(rows, dtype=np.float32)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as error:
        msg = f"ML Commons answered predict with a body that holds no embeddings ({type(error).__name__}: {error})."
        raise MalformedResponseError(msg) from error
    if vectors.ndim != 2:  # (texts, dimension)
        msg = f"ML Commons answered predict with embeddings of shape {vectors.shape}, not (texts, dimension)."
        raise MalformedResponseError(msg)
    return vectors


def predict(
    model_id: str, texts: list[str], timeout: float | None = None, content_type: str | None = None
) -> Operation[np.ndarray]:
    """Embed `texts` in one predict call (as `content_type` "query"/"passage" for an asymmetric model)."""
    body = predict_body(texts, content_type)
    response = yield Call("POST", f"{ML}/_predict/text_embedding/{model_id}", body, timeout=timeout)
    return parse_embeddings(response, len(texts))
