"""
How to reach the cluster: settings that serialize safely, and the opensearch-py clients built from them.

Authentication reuses opensearch-haystack's types so that a pipeline's store and embedders share
one configuration: a `(Secret, Secret)` user/password pair or an `AWSAuth` (SigV4). Secrets are
resolved only when a client is built (at warm-up), and serialization stores only the Secrets'
env-var descriptions, never their values; a password written into a host URL is refused.

TLS certificates are verified unless a user turns it off explicitly (`verify_certs=False`, the
command line's `--insecure`), which logs a warning naming the hosts. opensearch-py logs every failed
request with a traceback, although its caller retries or reports it: `quiet_transport_logs`
keeps those records to DEBUG, one line each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from haystack.utils.auth import Secret
from haystack_integrations.document_stores.opensearch.auth import AsyncAWSAuth, AWSAuth
from opensearchpy import AsyncHttpConnection, AsyncOpenSearch, OpenSearch

HttpAuth = tuple[Secret, Secret] | AWSAuth | None

logger = logging.getLogger(__name__)
TRANSPORT_LOGGERS = ("opensearch", "urllib3.connectionpool")


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
        return {
            "hosts": self.hosts,
            **tls_kwargs(self.hosts, verify_certs=self.verify_certs, ca_certs=self.ca_certs),
            "timeout": self.timeout,
        }

    def sync_client(self, **extra: Any) -> OpenSearch:
        """A blocking client; `extra` goes to `OpenSearch` (e.g. `max_retries`, `pool_maxsize`)."""
        quiet_transport_logs()
        return OpenSearch(http_auth=self._resolved_auth(), **self.client_kwargs(), **extra)

    def async_client(self, **extra: Any) -> AsyncOpenSearch:
        """An async client; SigV4 needs `AsyncHttpConnection` and `AsyncAWSAuth`."""
        quiet_transport_logs()
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


def tls_kwargs(hosts: Any, *, verify_certs: bool | None, ca_certs: str | None) -> dict[str, Any]:
    """
    `verify_certs`/`ca_certs` for an opensearch-py client.

    Verification is on unless explicitly False (opensearch-haystack passes None, which opensearch-py treats as off);
    turning it off is logged loudly.
    """
    if verify_certs is False:
        logger.warning(
            "TLS certificate verification is OFF for %s: anyone on the network path can impersonate the cluster "
            "and read the credentials sent to it. Pass a CA bundle (ca_certs / --ca-certs) instead.",
            redacted_hosts(hosts),
        )
        return {"verify_certs": False, "ssl_show_warn": False}
    return {"verify_certs": True, **({"ca_certs": ca_certs} if ca_certs else {})}


def _entries(hosts: Any) -> list[Any]:
    return list(hosts) if isinstance(hosts, list | tuple) else [hosts]


def _userinfo(entry: Any) -> bool:
    """Whether one host entry (a URL string or an opensearch-py host dict) carries credentials."""
    if isinstance(entry, dict):
        return bool(entry.get("http_auth"))
    return isinstance(entry, str) and "@" in entry.rpartition("//")[2].partition("/")[0]


def redacted_hosts(hosts: Any) -> str:
    """Hosts for messages, with any `user:password@` part of a URL shown as `***@`."""
    shown = []
    for entry in _entries(hosts):
        if isinstance(entry, str) and _userinfo(entry):
            scheme, slashes, rest = entry.rpartition("//")
            netloc, slash, path = rest.partition("/")
            entry = f"{scheme}{slashes}***@{netloc.rpartition('@')[2]}{slash}{path}"
        elif isinstance(entry, dict):
            entry = {key: ("***" if key == "http_auth" else value) for key, value in entry.items()}
        shown.append(str(entry))
    return ", ".join(shown)


def refuse_url_credentials(hosts: Any, *, where: str) -> None:
    """Raise before anything is serialized when a host URL holds a password: it would be written verbatim."""
    if any(_userinfo(entry) for entry in _entries(hosts)):
        msg = (
            f"{where}: the host {redacted_hosts(hosts)} holds credentials, which to_dict/YAML would write as plain "
            "text. Put the bare URL in hosts and the credentials in http_auth as Secrets, e.g. "
            '(Secret.from_env_var("OPENSEARCH_USERNAME"), Secret.from_env_var("OPENSEARCH_PASSWORD")).'
        )
        raise ValueError(msg)


def serialize_http_auth(auth: Any, *, where: str = "http_auth") -> list[dict[str, Any]] | dict[str, Any] | None:
    """
    Secret pair → list of Secret dicts.

    AWSAuth → its own dict (env-var names only); anything else is refused with a message naming what was given (its
    types, never its values).
    """
    if auth is None:
        return None
    if isinstance(auth, AWSAuth):
        return auth.to_dict()
    if isinstance(auth, tuple | list) and len(auth) == 2 and all(isinstance(a, Secret) for a in auth):
        return [secret.to_dict() for secret in auth]
    given = f"({', '.join(type(a).__name__ for a in auth)})" if isinstance(auth, tuple | list) else type(auth).__name__
    msg = (
        f"{where} is {given}, which cannot be serialized without writing the credentials: pass a pair of Secrets, "
        'e.g. (Secret.from_env_var("OPENSEARCH_USERNAME"), Secret.from_env_var("OPENSEARCH_PASSWORD")), or an AWSAuth.'
    )
    raise TypeError(msg)


class _HandledTransportFailure(logging.Filter):
    """
    opensearch-py logs each failed request at WARNING with a traceback, then raises.

    The caller retries or reports the error in one line, so the record is kept to a traceback-free DEBUG line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        failed_request = record.name == "opensearch" and record.levelno == logging.WARNING
        if record.levelno > logging.DEBUG and (record.exc_info or failed_request):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def quiet_transport_logs() -> None:
    """Install the filter once on opensearch-py's and urllib3's loggers (idempotent)."""
    for name in TRANSPORT_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, _HandledTransportFailure) for f in target.filters):
            target.addFilter(_HandledTransportFailure())


def deserialize_http_auth(data: list[dict[str, Any]] | dict[str, Any] | None) -> HttpAuth:
    """Inverse of `serialize_http_auth`."""
    if data is None:
        return None
    if isinstance(data, dict):
        return AWSAuth.from_dict(data)
    user, password = (Secret.from_dict(item) for item in data)
    return (user, password)
