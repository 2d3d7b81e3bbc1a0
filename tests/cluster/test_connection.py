import pytest
from haystack.utils import Secret

from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings, deserialize_http_auth


def test_secrets_are_resolved_only_when_a_client_is_built(monkeypatch):
    settings = ConnectionSettings("http://localhost:9200", (Secret.from_env_var("OS_U"), Secret.from_env_var("OS_P")))
    data = settings.to_dict()
    assert "hunter2" not in str(data)
    monkeypatch.setenv("OS_U", "admin")
    monkeypatch.setenv("OS_P", "hunter2")
    client = settings.sync_client()
    assert client.transport.kwargs["http_auth"] == ("admin", "hunter2")
    assert deserialize_http_auth(data["http_auth"]) == settings.http_auth


def test_plain_string_credentials_are_refused():
    with pytest.raises(TypeError, match="Secret"):
        ConnectionSettings("http://localhost:9200", ("admin", "admin"))  # type: ignore[arg-type]


def test_half_a_credential_is_an_error(monkeypatch):
    monkeypatch.setenv("OS_U", "admin")
    monkeypatch.delenv("OS_P", raising=False)
    settings = ConnectionSettings("http://x", (Secret.from_env_var("OS_U"), Secret.from_env_var("OS_P", strict=False)))
    with pytest.raises(ValueError, match="both a user and a password"):
        settings.sync_client()


def test_token_secrets_refuse_to_serialize():
    settings = ConnectionSettings("http://x", (Secret.from_token("u"), Secret.from_token("p")))
    with pytest.raises(ValueError, match="Cannot serialize token-based secret"):
        settings.to_dict()
