"""
Typed errors for ML Commons calls, each saying what went wrong and what to do.

opensearch-py raises `TransportError` with a status code and a parsed body; ML Commons puts
the useful text in `error.reason` (or `root_cause[0].reason`). `from_transport_error` turns
that into one of the classes below so callers can react (retry, deploy, fix a setting)
without parsing strings themselves.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import SerializationError, TransportError
from opensearchpy.exceptions import SSLError as OpenSearchSSLError

from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError

UPLOADER_HINT = (
    "Register and deploy it with PretrainedModelUploader "
    "(haystack_integrations.components.embedders.opensearch_pretrained.PretrainedModelUploader)."
)
BREAKER_HINT = (
    "The node lacks memory for the model: undeploy models you do not need, give the node more memory, "
    "or raise plugins.ml_commons.native_memory_threshold / jvm_heap_memory_threshold (100 disables the check)."
)


class MLCommonsError(OpenSearchPretrainedError, RuntimeError):
    """Base class of every error raised by this package's ML Commons client."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class UnsupportedServerError(MLCommonsError):
    """The cluster's OpenSearch version has no usable ML Commons API for this client."""


class ResourceNotFoundError(MLCommonsError):
    """A model, task or model group id does not exist on the cluster."""


class ModelNotFoundError(ResourceNotFoundError):
    """The model id is unknown to the cluster."""


class ModelNotDeployedError(MLCommonsError):
    """The model exists but is not deployed, so it cannot predict."""


class RequestRejectedError(MLCommonsError):
    """The cluster refused the request as invalid or forbidden; retrying will not help."""


class SettingRequiredError(RequestRejectedError):
    """A cluster setting forbids the operation (e.g. registering from a local file)."""


class ThrottledError(MLCommonsError):
    """429 from a rate limiter; retry later, more slowly."""

    retryable = True


class CircuitBreakerError(MLCommonsError):
    """An ML Commons memory/disk circuit breaker is open."""

    retryable = True


class TransientServerError(MLCommonsError):
    """502/503/504: the node is busy or restarting."""

    retryable = True


class ClusterConnectionError(MLCommonsError):
    """No HTTP response at all: connection refused, reset or timed out."""

    retryable = True


class MalformedResponseError(MLCommonsError):
    """The cluster (or a proxy in front of it) answered with a body that is not the expected JSON."""

    retryable = True


class CertificateError(MLCommonsError):
    """The cluster's TLS certificate could not be verified; retrying will not help."""


class TaskFailedError(MLCommonsError):
    """An ML Commons task ended FAILED; `reason` holds the server's own message."""

    def __init__(self, message: str, *, task_id: str, task: dict[str, Any], reason: str | None) -> None:
        super().__init__(message, reason=reason)
        self.task_id = task_id
        self.task = task


class DeployFailedError(MLCommonsError):
    """A deploy did not reach DEPLOYED; `reason` holds the node messages."""


class OperationTimeoutError(MLCommonsError, TimeoutError):
    """A task or deploy did not finish before its deadline (it may still finish on the cluster)."""


_BREAKER = re.compile(r"circuit breaker is open|circuit_breaking_exception", re.IGNORECASE)
_SETTING = re.compile(
    r"(allow_registering_model_via_\w+|trusted url regex|only_run_on_ml_node|no eligible node)", re.IGNORECASE
)


def breaker_message(reason: str) -> str:
    """Wording shared by predict-time and deploy-time breaker errors."""
    return f"ML Commons circuit breaker is open: {reason}. {BREAKER_HINT}"


def is_breaker_reason(reason: str) -> bool:
    """Whether a server message (also a task `error`) comes from an open breaker."""
    return bool(_BREAKER.search(reason))


def server_reason(info: Any) -> str:
    """The most specific human-readable reason in an OpenSearch error body."""
    if isinstance(info, dict):
        error = info.get("error", info)
        if isinstance(error, dict):
            causes = error.get("root_cause") or []
            reason = error.get("reason") or (causes[0].get("reason") if causes else None)
            return str(reason or error.get("type") or info)
        return str(error)
    return str(info)


def from_transport_error(exc: TransportError | SerializationError, *, what: str) -> MLCommonsError:
    """Map an opensearch-py error raised while doing `what` to a typed, actionable error."""
    if isinstance(exc, SerializationError):
        return MalformedResponseError(f"{what}: the cluster answered with a body that is not JSON ({exc}).")
    if isinstance(exc, OpenSearchSSLError) or (
        isinstance(exc, OpenSearchConnectionError) and "CERTIFICATE_VERIFY_FAILED" in str(exc.info)  # aiohttp's form
    ):
        return CertificateError(
            f"{what}: the cluster's TLS certificate could not be verified ({exc.info}); nothing was sent. Pass the "
            "CA that signed it (ca_certs=PATH, --ca-certs PATH), or, on a trusted network only, --insecure."
        )
    if isinstance(exc, OpenSearchConnectionError):
        return ClusterConnectionError(f"{what}: could not reach the cluster ({exc.info}). Check hosts and network.")
    status = exc.status_code if isinstance(exc.status_code, int) else None
    reason = server_reason(exc.info)
    kwargs: dict[str, Any] = {"status": status, "reason": reason}
    if "Model not ready yet" in reason:
        return ModelNotDeployedError(f"{what}: the model is not deployed ({reason}). {UPLOADER_HINT}", **kwargs)
    if is_breaker_reason(reason) or (isinstance(exc.info, dict) and "bytes_wanted" in str(exc.info)):
        return CircuitBreakerError(f"{what}: {breaker_message(reason)}", **kwargs)
    if status == 429:
        return ThrottledError(
            f"{what}: throttled by the cluster ({reason}). Lower concurrency or retry later.", **kwargs
        )
    if status in (502, 503, 504):
        return TransientServerError(f"{what}: the cluster answered {status} ({reason}); retry later.", **kwargs)
    if status == 404:
        if "model" in reason.lower():
            return ModelNotFoundError(f"{what}: {reason}. Check the model id. {UPLOADER_HINT}", **kwargs)
        return ResourceNotFoundError(f"{what}: {reason}.", **kwargs)
    if _SETTING.search(reason):
        return SettingRequiredError(f"{what}: {reason}. Change the named ML Commons cluster setting.", **kwargs)
    if status in (400, 401, 403):
        return RequestRejectedError(f"{what}: the cluster rejected the request ({status}: {reason}).", **kwargs)
    return MLCommonsError(f"{what}: the cluster answered {exc.status_code} ({reason}).", **kwargs)
