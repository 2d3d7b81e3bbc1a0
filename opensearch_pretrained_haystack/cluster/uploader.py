"""
Register and deploy a pretrained (or custom) model in ML Commons, idempotently.

Sources:
- "cluster": the cluster downloads the artifact itself (pretrained registration by name).
- "client": this package fetches and verifies the artifact (from its cache, a mirror or the artifacts
  site) and uploads it in ≤10 MB chunks with its config.json — the way to serve air-gapped clusters.
- "auto": "cluster" first; when the cluster cannot fetch the artifact (its register task fails),
  "client".

A model already registered with the same name and format (and, when the artifact is at hand, the same
content hash) is reused — deployed if it is not — so running the uploader twice leaves one model.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from opensearch_pretrained_haystack.artifacts import ModelArtifact, check_zip, resolve_artifact
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError, TaskFailedError, UnsupportedServerError
from opensearch_pretrained_haystack.cluster.lifecycle import deploy_setting
from opensearch_pretrained_haystack.cluster.ml_commons import DEFAULT_TASK_TIMEOUT, MLCommonsClient
from opensearch_pretrained_haystack.cluster.versions import (
    ADDITIONAL_CONFIG_VERSION,
    ASYMMETRIC_MODEL_VERSION,
    version_text,
)
from opensearch_pretrained_haystack.families import family_of
from opensearch_pretrained_haystack.families.sentence_highlighting import (
    config_is_sentence_highlighter,
    is_sentence_highlighter,
    server_refusal,
)
from opensearch_pretrained_haystack.inference.onnx_session import check_onnx_inputs

logger = logging.getLogger(__name__)

Source = Literal["auto", "cluster", "client"]
SOURCES: tuple[str, ...] = ("auto", "cluster", "client")
REUSABLE_STATES = frozenset(
    {"REGISTERED", "DEPLOYING", "DEPLOYED", "PARTIALLY_DEPLOYED", "UNDEPLOYED", "DEPLOY_FAILED", "LOADED", "UNLOADED"}
)
"""States of a complete registration; REGISTERING/FAILED leftovers of interrupted uploads are not reused."""


@dataclass(frozen=True)
class ModelRequest:
    """What to deploy: a catalog model (name/alias + version) or a custom model directory."""

    model: str
    version: str | None = None
    model_format: str = "ONNX"
    source: Source = "auto"
    mirror: str | os.PathLike[str] | None = None
    cache_dir: str | os.PathLike[str] | None = None
    auto_deploy: bool | None = None
    """A new registration's `deploy_setting.is_auto_deploy_enabled` (2.13+; None: the cluster's default)."""
    ttl_minutes: int | None = None
    """A new registration's `deploy_setting.model_ttl_minutes`: undeployed after that long unused (2.14+)."""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            msg = f"source must be one of {', '.join(SOURCES)}, not {self.source!r}."
            raise ValueError(msg)
        if self.source == "cluster" and self.is_custom:
            msg = f"{self.model} is a custom model directory; the cluster cannot download it. Use source='client'."
            raise ValueError(msg)
        object.__setattr__(self, "model_format", self.model_format.upper())

    @property
    def is_custom(self) -> bool:
        """A directory with a model zip and its config.json rather than a catalog name."""
        return Path(self.model).expanduser().is_dir()


@dataclass(frozen=True)
class DeployedModel:
    """The outcome of `upload_and_deploy`; `as_dict` is the uploader component's `model` output."""

    model_id: str
    name: str
    version: str
    format: str
    dimension: int
    state: str
    reused: bool
    source: str
    """"cluster" or "client" for a new registration, "existing" when reused."""

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for pipeline outputs."""
        return asdict(self)


def upload_and_deploy(
    client: MLCommonsClient, request: ModelRequest, *, deploy_timeout: float = DEFAULT_TASK_TIMEOUT
) -> DeployedModel:
    """
    Reuse or register the model, then deploy it and wait until it is DEPLOYED.

    A model the server cannot run (the sentence highlighter before OpenSearch 3.0) is refused with one line
    before anything is fetched or registered.
    """
    artifact = _local_artifact(request) if request.is_custom else None
    _refuse_unsupported(client, request, artifact)
    if artifact is None and request.source == "client":
        artifact = _local_artifact(request)
    if artifact is not None and (artifact.query_prefix or artifact.passage_prefix):
        _require_asymmetric_support(client, artifact)
    name, version, dimension = _identity(request, artifact)
    existing = _find_existing(client, name, request.model_format, artifact.sha256 if artifact else None)
    if existing is not None:
        model_id, source = existing["model_id"], "existing"
        logger.info("Reusing model %s (%s %s, state %s).", model_id, name, version, existing.get("model_state"))
    else:
        asked = request.auto_deploy is not None or request.ttl_minutes is not None
        setting = (
            deploy_setting(client.server_profile(), auto_deploy=request.auto_deploy, ttl_minutes=request.ttl_minutes)
            if asked
            else {}
        )
        model_id, source = _register(client, request, name, version, artifact, setting)
    deployed = client.deploy(model_id, timeout=deploy_timeout)
    return DeployedModel(
        model_id=model_id,
        name=name,
        version=version,
        format=request.model_format,
        dimension=dimension,
        state=str(deployed.get("model_state")),
        reused=existing is not None,
        source=source,
    )


def _require_asymmetric_support(client: MLCommonsClient, artifact: ModelArtifact) -> None:
    """An asymmetric model (``query_prefix``/``passage_prefix``) needs ML Commons 2.13+; older ones drop them."""
    version = client.server_profile().version
    if version < ASYMMETRIC_MODEL_VERSION:
        raise UnsupportedServerError(
            f"{artifact.name} is asymmetric (query_prefix {artifact.query_prefix!r}, passage_prefix "
            f"{artifact.passage_prefix!r}), and OpenSearch {version_text(version)} cannot register the prefixes: it "
            f"needs {version_text(ASYMMETRIC_MODEL_VERSION)} or newer."
        )


def _local_artifact(request: ModelRequest) -> ModelArtifact:
    """The verified artifact to upload, refused here if the cluster could not unpack or serve it."""
    artifact = resolve_artifact(
        request.model,
        request.version,
        model_format=request.model_format,
        mirror=request.mirror,
        cache_dir=request.cache_dir,
    )
    check_before_upload(artifact)
    return artifact


def check_before_upload(artifact: ModelArtifact) -> None:
    """
    The checks the package itself applies before using an artifact, run before any byte is uploaded.

    They follow the artifact's family's rules (the local runners apply the same): safe zip entries (exactly one model
    file unless the family has none, and tokenizer.json) and, for ONNX, the graph inputs ML Commons sends (a mismatch
    would end in a slow, cryptic DEPLOY_FAILED).
    """
    check_zip(artifact.zip_path, needs_model_file=family_of(artifact.task_type).needs_model_file)
    if artifact.model_format == "ONNX":
        check_onnx_inputs(artifact)


def _refuse_unsupported(client: MLCommonsClient, request: ModelRequest, artifact: ModelArtifact | None) -> None:
    """Raise `UnsupportedServerError` if the cluster's version cannot run this kind of model."""
    if artifact is not None:
        name, highlighter = artifact.name, config_is_sentence_highlighter(artifact.config)
    else:
        entry = get_model(request.model, request.version)
        name, highlighter = entry.name, is_sentence_highlighter(entry.task_type, entry.model_type)
    refusal = server_refusal(client.server_profile().version, name) if highlighter else None
    if refusal is not None:
        raise UnsupportedServerError(refusal)


def _identity(request: ModelRequest, artifact: ModelArtifact | None) -> tuple[str, str, int]:
    """Name, version and dimension (0 if sparse) from the artifact's config.json if at hand, else the catalog."""
    if artifact is not None:
        return artifact.name, artifact.version, int(artifact.model_config.get("embedding_dimension") or 0)
    entry = get_model(request.model, request.version)
    return entry.name, entry.version, entry.dimension


def _find_existing(client: MLCommonsClient, name: str, model_format: str, sha256: str | None) -> dict[str, Any] | None:
    """A complete registration of the same name and format (and hash, when known); deployed ones first."""
    candidates = [
        model
        for model in client.find_models(name, model_format)
        if model.get("model_state") in REUSABLE_STATES
        and (sha256 is None or model.get("model_content_hash_value") == sha256)
    ]
    candidates.sort(key=lambda model: model.get("model_state") not in {"DEPLOYED", "LOADED"})
    return candidates[0] if candidates else None


def _register(
    client: MLCommonsClient,
    request: ModelRequest,
    name: str,
    version: str,
    artifact: ModelArtifact | None,
    setting: dict[str, Any],
) -> tuple[str, str]:
    """Register a new copy; returns (model_id, source used)."""
    if artifact is None:
        try:
            if setting:
                return client.register_pretrained(
                    name, version, request.model_format, deploy_setting=setting
                ), "cluster"
            return client.register_pretrained(name, version, request.model_format), "cluster"
        except TaskFailedError as failure:
            if request.source == "cluster":
                failure.add_note("If the cluster cannot reach the artifacts site, use source='client' (and a mirror).")
                raise
            _discard_failed_registration(client, failure)
            logger.warning(
                "The cluster could not register %s itself (%s); uploading it from here.", name, failure.reason
            )
        artifact = _local_artifact(request)
    config = {**artifact.config, "deploy_setting": setting} if setting else dict(artifact.config)
    space_type = _catalog_space_type(request)
    model_config = config.get("model_config") or {}
    # A dense semantic field reads the space type there (3.1+); sparse models have no model_config at all.
    needed = bool(space_type and model_config) and "additional_config" not in model_config
    if needed and client.server_profile().version >= ADDITIONAL_CONFIG_VERSION:
        config["model_config"] = {**model_config, "additional_config": {"space_type": space_type}}
    return client.upload_model(artifact.zip_path, config), "client"


def _catalog_space_type(request: ModelRequest) -> str | None:
    """The catalog's k-NN space type of a catalog dense model (None for custom directories and other families)."""
    if request.is_custom:
        return None
    return get_model(request.model, request.version).space_type or None


def _discard_failed_registration(client: MLCommonsClient, failure: TaskFailedError) -> None:
    """Delete the model document a failed register task may leave behind, so no stray copy remains."""
    model_id = failure.task.get("model_id")
    if model_id:
        try:
            client.delete_model(model_id)
        except MLCommonsError as error:
            logger.warning("Could not delete the failed registration %s: %s", model_id, error)
