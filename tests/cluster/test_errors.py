import pytest
from opensearchpy.exceptions import ConnectionTimeout, NotFoundError, RequestError, TransportError

from opensearch_pretrained_haystack.cluster import errors as e


def body(reason: str, kind: str = "status_exception") -> dict:
    return {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}}


@pytest.mark.parametrize(
    ("exc", "expected", "retryable"),
    [
        (
            RequestError(400, "x", body("Model not ready yet. Please deploy the model first.")),
            e.ModelNotDeployedError,
            False,
        ),
        (NotFoundError(404, "x", body("Failed to find model")), e.ModelNotFoundError, False),
        (NotFoundError(404, "x", body("Failed to find task")), e.ResourceNotFoundError, False),
        (TransportError(429, "x", body("Request is throttled at model level.")), e.ThrottledError, True),
        (
            TransportError(
                429,
                "x",
                body("Memory Circuit Breaker is open, please check your resources!", "circuit_breaking_exception"),
            ),
            e.CircuitBreakerError,
            True,
        ),
        (
            TransportError(500, "x", body("Memory Circuit Breaker is open, please check your resources!")),
            e.CircuitBreakerError,
            True,
        ),
        (TransportError(503, "x", body("unavailable")), e.TransientServerError, True),
        (ConnectionTimeout("TIMEOUT", "timed out", Exception("read timeout")), e.ClusterConnectionError, True),
        (
            RequestError(
                400,
                "x",
                body(
                    "To upload custom model from local file, user needs to enable "
                    "allow_registering_model_via_local_file settings."
                ),
            ),
            e.SettingRequiredError,
            False,
        ),
        (RequestError(400, "x", body("bad")), e.RequestRejectedError, False),
        (TransportError(500, "x", body("boom")), e.MLCommonsError, False),
    ],
)
def test_transport_errors_map_to_typed_errors(exc, expected, retryable):
    error = e.from_transport_error(exc, what="POST /x")
    assert type(error) is expected
    assert error.retryable is retryable
    assert str(error).startswith("POST /x")


def test_not_deployed_and_not_found_name_the_uploader():
    for exc in (
        RequestError(400, "x", body("Model not ready yet.")),
        NotFoundError(404, "x", body("Failed to find model")),
    ):
        assert "PretrainedModelUploader" in str(e.from_transport_error(exc, what="predict"))


def test_breaker_error_says_what_to_do():
    error = e.from_transport_error(TransportError(429, "x", body("Memory Circuit Breaker is open")), what="predict")
    assert "native_memory_threshold" in str(error) and "undeploy" in str(error)


def test_server_reason_handles_plain_bodies():
    assert e.server_reason("text body") == "text body"
    assert e.server_reason({"error": "flat"}) == "flat"
