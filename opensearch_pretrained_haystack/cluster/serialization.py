"""
`to_dict`/`from_dict` for components that talk to a cluster and so hold `http_auth`.

`http_auth` is a pair of Secrets or an `AWSAuth`; Haystack's default serialization does not look inside a
tuple, so it is converted here. Only Secret descriptions (env-var names) are written, never values: plain-string
credentials, and a password written into a host URL, are refused with a message that says how to pass them.
"""

from __future__ import annotations

from typing import Any, Self

from haystack import default_from_dict

from opensearch_pretrained_haystack.cluster.connection import (
    HttpAuth,
    deserialize_http_auth,
    refuse_url_credentials,
    serialize_http_auth,
)
from opensearch_pretrained_haystack.serialization import (
    InitParametersSerialization,
)


class HttpAuthSerialization(InitParametersSerialization):
    """Init-parameter serialization with `http_auth` converted both ways."""

    hosts: str | list[str]
    http_auth: HttpAuth

    def to_dict(self) -> dict[str, Any]:
        """Every `__init__` parameter; credentials only as Secret descriptions."""
        where = f"{type(self).__name__}.to_dict"
        refuse_url_credentials(self.hosts, where=where)
        http_auth = serialize_http_auth(self.http_auth, where=f"{where}: http_auth")
        data = InitParametersSerialization.to_dict(self)
        data["init_parameters"]["http_auth"] = http_auth
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Inverse of `to_dict`."""
        init = dict(data.get("init_parameters", {}))
        init["http_auth"] = deserialize_http_auth(init.get("http_auth"))
        return default_from_dict(cls, {**data, "init_parameters": init})
