"""`PretrainedModelUploader`: a pipeline step that makes sure a model is deployed in ML Commons."""

from __future__ import annotations

from typing import Any

from haystack import component

from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings, HttpAuth
from opensearch_pretrained_haystack.cluster.ml_commons import DEFAULT_TASK_TIMEOUT, MLCommonsClient
from opensearch_pretrained_haystack.cluster.serialization import cluster_component_from_dict, cluster_component_to_dict
from opensearch_pretrained_haystack.cluster.uploader import ModelRequest, Source, upload_and_deploy


@component
class PretrainedModelUploader:
    """
    Registers (or reuses) and deploys an OpenSearch pretrained model, and outputs its `model_id`.

    `source="client"` uploads the artifact from this machine (its cache, a `mirror`, or the artifacts site),
    which is how air-gapped clusters get models; `"cluster"` lets the cluster download it; `"auto"` tries the
    cluster first. Running it twice never leaves two copies.

    Usage example:
    ```python
    from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
        PretrainedModelUploader,
    )

    uploader = PretrainedModelUploader(hosts="http://localhost:9200", model="all-MiniLM-L6-v2", version="1.0.1",
                                       source="client", mirror="/data/mirror")
    model_id = uploader.run()["model_id"]
    ```
    """

    def __init__(
        self,
        hosts: str | list[str],
        model: str,
        version: str | None = None,
        model_format: str = "ONNX",
        source: Source = "auto",
        mirror: str | None = None,
        http_auth: HttpAuth = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 120.0,
        deploy_timeout: float = DEFAULT_TASK_TIMEOUT,
        cache_dir: str | None = None,
        auto_deploy: bool | None = None,
        ttl_minutes: int | None = None,
    ) -> None:
        """
        Create the component; nothing is contacted until `run`.

        :param hosts: Cluster URL(s).
        :param model: A catalog name or alias, or a directory with a custom model zip and its config.json.
        :param version: The catalog version; None takes the newest.
        :param model_format: "ONNX" or "TORCH_SCRIPT".
        :param source: "auto", "cluster" or "client" (see the class docstring).
        :param mirror: A directory or URL laid out like the artifacts site, for `source="client"`.
        :param http_auth: A (user, password) pair of Secrets, an `AWSAuth`, or None.
        :param verify_certs: Verify the cluster's TLS certificate.
        :param ca_certs: Path to a CA bundle.
        :param timeout: Per-request timeout in seconds (chunk uploads are ~10 MB each).
        :param deploy_timeout: Seconds to wait for registration and for the model to be DEPLOYED.
        :param cache_dir: Where verified artifacts are kept.
        :param auto_deploy: For a new registration: ML Commons' `deploy_setting.is_auto_deploy_enabled`
            (OpenSearch 2.13+); None keeps the cluster's default.
        :param ttl_minutes: For a new registration: undeploy the model after this many minutes unused
            (`deploy_setting.model_ttl_minutes`, OpenSearch 2.14+).
        """
        self.request = ModelRequest(
            model, version, model_format, source, mirror, cache_dir, auto_deploy=auto_deploy, ttl_minutes=ttl_minutes
        )
        self.auto_deploy = auto_deploy
        self.ttl_minutes = ttl_minutes
        self.hosts = hosts
        self.model = model
        self.version = version
        self.model_format = model_format
        self.source = source
        self.mirror = mirror
        self.http_auth = tuple(http_auth) if isinstance(http_auth, list) else http_auth
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self.deploy_timeout = deploy_timeout
        self.cache_dir = cache_dir
        self._client: MLCommonsClient | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component; credentials only as Secret descriptions."""
        return cluster_component_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PretrainedModelUploader:
        """Deserialize the component."""
        return cluster_component_from_dict(cls, data)

    def warm_up(self) -> None:
        """Build the client (resolving credentials); calling it again does nothing."""
        if self._client is None:
            settings = ConnectionSettings(self.hosts, self.http_auth, self.verify_certs, self.ca_certs, self.timeout)
            self._client = MLCommonsClient(settings.sync_client())

    def close(self) -> None:
        """Release the client."""
        if self._client is not None:
            self._client.client.close()
            self._client = None

    @component.output_types(model_id=str, model=dict[str, Any])
    def run(self) -> dict[str, Any]:
        """
        Reuse or register the model and wait until it is deployed.

        :returns: `model_id` and `model` (name, version, format, dimension, state, reused, source).
        """
        self.warm_up()
        assert self._client is not None
        deployed = upload_and_deploy(self._client, self.request, deploy_timeout=self.deploy_timeout)
        return {"model_id": deployed.model_id, "model": deployed.as_dict()}
