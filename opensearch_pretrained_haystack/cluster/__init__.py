"""ML Commons client: register, upload, deploy and predict on an OpenSearch cluster."""

from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
from opensearch_pretrained_haystack.cluster.errors import (
    CertificateError,
    CircuitBreakerError,
    ClusterConnectionError,
    DeployFailedError,
    MalformedResponseError,
    MLCommonsError,
    ModelNotDeployedError,
    ModelNotFoundError,
    OperationTimeoutError,
    RequestRejectedError,
    ResourceNotFoundError,
    SettingRequiredError,
    TaskFailedError,
    ThrottledError,
    TransientServerError,
    UnsupportedServerError,
)
from opensearch_pretrained_haystack.cluster.ml_commons import MLCommonsClient
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.cluster.versions import ServerProfile

__all__ = [
    "CertificateError",
    "CircuitBreakerError",
    "ClusterConnectionError",
    "ConnectionSettings",
    "DeployFailedError",
    "MLCommonsClient",
    "MLCommonsError",
    "MalformedResponseError",
    "ModelNotDeployedError",
    "ModelNotFoundError",
    "OperationTimeoutError",
    "RequestRejectedError",
    "ResourceNotFoundError",
    "RetryPolicy",
    "ServerProfile",
    "SettingRequiredError",
    "TaskFailedError",
    "ThrottledError",
    "TransientServerError",
    "UnsupportedServerError",
]
