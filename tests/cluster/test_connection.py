import logging

import pytest
from haystack.utils import Secret

from opensearch_pretrained_haystack.cluster.connection import (
    ConnectionSettings,
    deserialize_http_auth,
    quiet_transport_logs,
    redacted_hosts,
    refuse_url_credentials,
    serialize_http_auth,
    tls_kwargs,
)


def test_secrets_are_resolved_only_when_a_client_is_built(monkeypatch):
    settings = ConnectionSettings("http://localhost:9200", (Secret.from_env_var("OS_U"), Secret.from_env_var("OS_P")))
    data = serialize_http_auth(settings.http_auth)
    assert "hunter2" not in str(data)
    monkeypatch.setenv("OS_U", "admin")
    monkeypatch.setenv("OS_P", "hunter2")
    client = settings.sync_client()
    assert client.transport.kwargs["http_auth"] == ("admin", "hunter2")
    assert deserialize_http_auth(data) == settings.http_auth


def test_plain_string_credentials_are_refused():
    with pytest.raises(TypeError, match="Secret"):
        ConnectionSettings("http://localhost:9200", ("admin", "admin"))  # type: ignore[arg-type]


def test_plain_string_credentials_in_serialization_name_the_input_never_the_value():
    with pytest.raises(TypeError, match=r"MyEmbedder: http_auth is \(str, str\)") as raised:
        serialize_http_auth(("admin", "hunter2"), where="MyEmbedder: http_auth")
    assert "hunter2" not in str(raised.value) and "Secret.from_env_var" in str(raised.value)
    with pytest.raises(TypeError, match="http_auth is str"):
        serialize_http_auth("admin:hunter2")


def test_half_a_credential_is_an_error(monkeypatch):
    monkeypatch.setenv("OS_U", "admin")
    monkeypatch.delenv("OS_P", raising=False)
    settings = ConnectionSettings("http://x", (Secret.from_env_var("OS_U"), Secret.from_env_var("OS_P", strict=False)))
    with pytest.raises(ValueError, match="both a user and a password"):
        settings.sync_client()


def test_token_secrets_refuse_to_serialize():
    with pytest.raises(ValueError, match="Cannot serialize token-based secret"):
        serialize_http_auth((Secret.from_token("u"), Secret.from_token("p")))


@pytest.mark.parametrize(
    "hosts",
    [
        "https://admin:hunter2@node:9200",
        ["http://ok:9200", "admin:hunter2@node:9200"],
        [{"host": "n", "http_auth": "a:hunter2"}],
    ],
)
def test_credentials_in_a_host_url_are_refused_and_redacted(hosts):
    with pytest.raises(ValueError, match="Secret") as raised:
        refuse_url_credentials(hosts, where="X.to_dict")
    assert "hunter2" not in str(raised.value) and "***" in str(raised.value)


def test_plain_hosts_pass_and_are_shown_unchanged():
    refuse_url_credentials(["https://node:9200/", "node2:9200", "http://node/path@x"], where="X")
    assert redacted_hosts("https://u:p@node:9200/x") == "https://***@node:9200/x"


def test_tls_is_verified_unless_turned_off_loudly(caplog):
    assert tls_kwargs("https://n", verify_certs=True, ca_certs=None) == {"verify_certs": True}
    assert tls_kwargs("https://n", verify_certs=None, ca_certs="/ca.pem") == {
        "verify_certs": True,
        "ca_certs": "/ca.pem",
    }
    with caplog.at_level(logging.WARNING):
        assert tls_kwargs("https://u:p@n", verify_certs=False, ca_certs=None)["verify_certs"] is False
    assert "verification is OFF for https://***@n" in caplog.text


def test_transport_failure_records_lose_their_traceback_and_stay_at_debug(caplog):
    quiet_transport_logs()
    quiet_transport_logs()  # idempotent
    assert len(logging.getLogger("opensearch").filters) == 1
    try:
        raise ConnectionResetError("reset")
    except ConnectionResetError:
        with caplog.at_level(logging.WARNING):
            logging.getLogger("opensearch").warning("POST http://n/_bulk [status:N/A request:0.1s]", exc_info=True)
        with caplog.at_level(logging.DEBUG, logger="opensearch"):
            logging.getLogger("opensearch").warning("GET http://n/ [status:N/A request:0.1s]", exc_info=True)
    assert [r.getMessage() for r in caplog.records] == ["GET http://n/ [status:N/A request:0.1s]"]
    assert caplog.records[0].levelno == logging.DEBUG and caplog.records[0].exc_info is None
    assert "Traceback" not in caplog.text
