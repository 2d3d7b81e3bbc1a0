"""
`to_dict`/`from_dict` for components that talk to a cluster and so hold `http_auth`.

`http_auth` is a pair of Secrets or an `AWSAuth`; Haystack's default serialization does not look inside a
tuple, so it is converted here. Only Secret descriptions (env-var names) are written, never values: plain-string
credentials, and a password written into a host URL, are refused with a message that says how to pass them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from haystack import default_from_dict

from opensearch_pretrained_haystack.cluster.connection import (
    deserialize_http_auth,
    refuse_url_credentials,
    serialize_http_auth,
)
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict

T = TypeVar("T")


def cluster_component_to_dict(component: Any) -> dict[str, Any]:
    """
    Every `__init__` parameter of `component` (which has `hosts` and `http_auth`).

    Credentials are written only as Secret descriptions.

    :param component: A cluster component.
    :returns: Its `to_dict`.
    :raises ValueError: A host URL holds credentials.
    :raises TypeError: `http_auth` is not a pair of Secrets or an `AWSAuth`.
    """
    where = f"{type(component).__name__}.to_dict"
    refuse_url_credentials(component.hosts, where=where)
    http_auth = serialize_http_auth(component.http_auth, where=f"{where}: http_auth")
    data = init_parameters_to_dict(component)
    data["init_parameters"]["http_auth"] = http_auth
    return data


def cluster_component_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Inverse of `cluster_component_to_dict`; `data` is left unchanged."""
    init = dict(data.get("init_parameters", {}))
    init["http_auth"] = deserialize_http_auth(init.get("http_auth"))
    return default_from_dict(cls, {**data, "init_parameters": init})
