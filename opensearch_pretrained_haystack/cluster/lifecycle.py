"""
The life of models in a cluster after upload.

Deploy settings at registration, and listing, undeploying, deleting and redeploying what is there (ml-commons #4134,
#3272, #2177, #2970: models drifting to DEPLOY_FAILED, not redeployed after restarts, piling up).

Sources (ml-commons): `common/model/MLDeploySetting.java` (`is_auto_deploy_enabled` 2.13+, `model_ttl_minutes`
2.14+), `MLModelState.java`, `rest/RestMLDeleteModelAction.java` (a deployed model cannot be deleted).
Models this package registers carry `PACKAGE_MARK` in their description, so `deployed` can tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opensearch_pretrained_haystack.cluster.errors import ModelNotDeployedError, UnsupportedServerError
from opensearch_pretrained_haystack.cluster.ml_commons import DEFAULT_TASK_TIMEOUT, MLCommonsClient
from opensearch_pretrained_haystack.cluster.operations import DEPLOYED_STATES, PACKAGE_MARK
from opensearch_pretrained_haystack.cluster.versions import ServerProfile, version_text

AUTO_DEPLOY_VERSION = (2, 13, 0)
MODEL_TTL_VERSION = (2, 14, 0)
_BROKEN_STATES = frozenset({"DEPLOY_FAILED", "PARTIALLY_DEPLOYED", "PARTIALLY_LOADED"})


@dataclass(frozen=True)
class ClusterModel:
    """One model document of the cluster, as `models deployed` lists it."""

    model_id: str
    name: str
    version: str
    format: str
    function: str
    state: str
    by_package: bool

    @classmethod
    def from_document(cls, model: dict[str, Any]) -> ClusterModel:
        """
        The model as ML Commons' model document describes it.

        :param model: The model document.
        :returns: The model.
        """
        return cls(
            model_id=str(model["model_id"]),
            name=str(model.get("name", "")),
            version=str(model.get("model_version") or model.get("version") or ""),
            format=str(model.get("model_format") or "remote"),
            function=str(model.get("algorithm") or model.get("function_name") or ""),
            state=str(model.get("model_state", "")),
            by_package=PACKAGE_MARK in str(model.get("description") or ""),
        )


def deploy_setting(
    profile: ServerProfile, *, auto_deploy: bool | None = None, ttl_minutes: int | None = None
) -> dict[str, Any]:
    """The registration's `deploy_setting`; an option the server lacks is refused in one line before any request."""
    setting: dict[str, Any] = {}
    here = version_text(profile.version)
    if auto_deploy is not None:
        if profile.version < AUTO_DEPLOY_VERSION:
            raise UnsupportedServerError(
                f"OpenSearch {here} has no deploy_setting.is_auto_deploy_enabled: it needs "
                f"{version_text(AUTO_DEPLOY_VERSION)} or newer; leave auto_deploy out."
            )
        setting["is_auto_deploy_enabled"] = auto_deploy
    if ttl_minutes is not None:
        if isinstance(ttl_minutes, bool) or not isinstance(ttl_minutes, int) or ttl_minutes < 1:
            raise ValueError(f"ttl_minutes must be a whole number of minutes, 1 or more, not {ttl_minutes!r}.")
        if profile.version < MODEL_TTL_VERSION:
            raise UnsupportedServerError(
                f"OpenSearch {here} has no deploy_setting.model_ttl_minutes: it needs "
                f"{version_text(MODEL_TTL_VERSION)} or newer; leave ttl_minutes out."
            )
        setting["model_ttl_minutes"] = ttl_minutes
    return setting


def list_cluster_models(client: MLCommonsClient) -> list[ClusterModel]:
    """
    Every model of the cluster (not its chunks), by name then version.

    Each is read again by id: `_search` lags behind a deploy that just finished (seen on 2.19.1: DEPLOYING in the
    search hit, DEPLOYED in the model's own document).
    """
    found = client.search_models({"match_all": {}}, size=1000)
    models = [ClusterModel.from_document(client.get_model(str(m["model_id"]))) for m in found]
    return sorted(models, key=lambda m: (m.name, m.version, m.model_id))


def undeploy_model(client: MLCommonsClient, model_id: str) -> str:
    """Undeploy from every node; returns the state the model is left in."""
    client.get_model(model_id)  # an unknown id is one line (404), not an empty undeploy answer
    client.undeploy(model_id)
    return str(client.get_model(model_id).get("model_state"))


def delete_model(client: MLCommonsClient, model_id: str) -> None:
    """Delete a model that is not deployed; a deployed one is refused naming the command that undeploys it."""
    model = client.get_model(model_id)
    state = str(model.get("model_state"))
    if state in DEPLOYED_STATES or state in {"DEPLOYING", "LOADING"}:
        raise ModelNotDeployedError(
            f"Model {model_id} ({model.get('name')}) is {state}: undeploy it first "
            f"(`opensearch-pretrained models undeploy {model_id} --opensearch URL`)."
        )
    client.delete_model(model_id)


def redeploy_model(client: MLCommonsClient, model_id: str, *, timeout: float = DEFAULT_TASK_TIMEOUT) -> str:
    """Deploy again and wait until DEPLOYED; a model stuck half-deployed or failed is undeployed first."""
    state = str(client.get_model(model_id).get("model_state"))
    if state in _BROKEN_STATES:
        client.undeploy(model_id)
    return str(client.deploy(model_id, timeout=timeout).get("model_state"))


def is_deployed(model: dict[str, Any]) -> bool:
    """Deployed on every planned node (a DEPLOY_FAILED or half-deployed model is not)."""
    state = str(model.get("model_state"))
    return state in DEPLOYED_STATES and state not in _BROKEN_STATES


def require_deployed_or_redeploy(
    client: MLCommonsClient, model: dict[str, Any], *, redeploy: bool, timeout: float = DEFAULT_TASK_TIMEOUT
) -> dict[str, Any]:
    """The model document if the model is deployed; else redeploy it (``redeploy=True``) or say so in one line."""
    if is_deployed(model):
        return model
    state = str(model.get("model_state"))
    model_id = str(model["model_id"])
    if not redeploy:
        raise ModelNotDeployedError(
            f"Model {model_id} ({model.get('name')}) is not deployed (state {state}): pass redeploy=True, or run "
            f"`opensearch-pretrained models redeploy {model_id} --opensearch URL`."
        )
    redeploy_model(client, model_id, timeout=timeout)
    return client.get_model(model_id)
