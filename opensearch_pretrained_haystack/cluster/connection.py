"""How to reach the cluster: settings that serialize safely, and the opensearch-py clients built from them.

Authentication reuses opensearch-haystack's types so that a pipeline's store and embedders share
one configuration: a `(Secret, Secret)` user/password pair or an `AWSAuth` (SigV4). Secrets are
resolved only when a client is built (at warm-up), and `to_dict` stores only the Secrets'
env-var descriptions, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haystack.utils.auth import Secret
from haystack_integrations.document_stores.opensearch.auth import AsyncAWSAuth, AWSAuth
from opensearchpy import AsyncHttpConnection, AsyncOpenSearch, OpenSearch

HttpAuth = tuple[Secret, Secret] | AWSAuth | None


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the cluster is and how to authenticate; `timeout` is the per-request timeout in seconds."""

    hosts: str | list[str]
    http_auth: HttpAuth = None
    verify_certs: bool = True
    ca_certs: str | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        auth = self.http_auth
        if isinstance(auth, list):
            object.__setattr__(self, "http_auth", auth := tuple(auth))
        is_secret_pair = isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(a, Secret) for a in auth)
        if auth is not None and not isinstance(auth, AWSAuth) and not is_secret_pair:
            msg = (
                "http_auth must be a pair of Haystack Secrets (user, password), an AWSAuth, or None; "
                "use Secret.from_env_var(...) instead of plain strings so that credentials are never serialized."
            )
            raise TypeError(msg)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `OpenSearch`/`AsyncOpenSearch` shared by both."""
        kwargs: dict[str, Any] = {"hosts": self.hosts, "verify_certs": self.verify_certs, "timeout": self.timeout}
        if self.ca_certs:
            kwargs["ca_certs"] = self.ca_certs
        return kwargs

    def sync_client(self, **extra: Any) -> OpenSearch:
        """A blocking client; `extra` goes to `OpenSearch` (e.g. `max_retries`, `pool_maxsize`)."""
        return OpenSearch(http_auth=self._resolved_auth(), **self.client_kwargs(), **extra)

    def async_client(self, **extra: Any) -> AsyncOpenSearch:
        """An async client; SigV4 needs `AsyncHttpConnection` and `AsyncAWSAuth`."""
        auth = self._resolved_auth()
        if isinstance(auth, AWSAuth):
            extra = {"connection_class": AsyncHttpConnection, **extra}
            return AsyncOpenSearch(http_auth=AsyncAWSAuth(auth), **self.client_kwargs(), **extra)
        return AsyncOpenSearch(http_auth=auth, **self.client_kwargs(), **extra)

    def _resolved_auth(self) -> tuple[str, str] | AWSAuth | None:
        if self.http_auth is None or isinstance(self.http_auth, AWSAuth):
            return self.http_auth
        user, password = (secret.resolve_value() for secret in self.http_auth)
        if user and password:
            return (user, password)
        if user or password:
            msg = "http_auth needs both a user and a password, but only one of the two Secrets resolved to a value."
            raise ValueError(msg)
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for component `to_dict`; contains no secret value."""
        return {
            "hosts": self.hosts,
            "http_auth": serialize_http_auth(self.http_auth),
            "verify_certs": self.verify_certs,
            "ca_certs": self.ca_certs,
            "timeout": self.timeout,
        }


def serialize_http_auth(auth: HttpAuth) -> list[dict[str, Any]] | dict[str, Any] | None:
    """Secret pair → list of Secret dicts; AWSAuth → its own dict (env-var names only)."""
    if auth is None:
        return None
    if isinstance(auth, AWSAuth):
        return auth.to_dict()
    return [secret.to_dict() for secret in auth]


def deserialize_http_auth(data: list[dict[str, Any]] | dict[str, Any] | None) -> HttpAuth:
    """Inverse of `serialize_http_auth`."""
    if data is None:
        return None
    if isinstance(data, dict):
        return AWSAuth.from_dict(data)
    user, password = (Secret.from_dict(item) for item in data)
    return (user, password)
