"""
The preflight of ``index --remote MODEL_ID`` (and ``--sparse MODEL_ID``).

The cluster model must be deployed and fit the index's model.

It runs before anything is read or written, so a wrong model id leaves no index behind.
"""

from __future__ import annotations

from pathlib import Path

from haystack.utils import Secret

from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
from opensearch_pretrained_haystack.compatibility import require_cluster_model_fits
from opensearch_pretrained_haystack.errors import UnknownModelError
from opensearch_pretrained_haystack.indices.neural import require_deployed
from opensearch_pretrained_haystack.indices.sparse import SparseEncoding, require_sparse_model

# The credentials opensearch-haystack's store reads, so the store and the cluster embedder log in alike.
ENV_CREDENTIALS = (
    Secret.from_env_var("OPENSEARCH_USERNAME", strict=False),
    Secret.from_env_var("OPENSEARCH_PASSWORD", strict=False),
)


def check_remote_model(
    model: PretrainedModel, hosts: str, model_id: str, *, verify_certs: bool = True, ca_certs: str | None = None
) -> None:
    """
    Refuse, before anything is read or written, a cluster model that does not fit ``model``.

    That is a model that is not deployed, or whose vectors come from another model than ``model`` (another size, or
    another registered name).
    """
    settings = ConnectionSettings(hosts, http_auth=ENV_CREDENTIALS, verify_certs=verify_certs, ca_certs=ca_certs)
    client = settings.sync_client()
    try:
        deployed = require_deployed(client, model_id)
    finally:
        client.close()
    require_cluster_model_fits(
        model_id, deployed, model.dimension, name=model.name,
        way_out=f"--model {model.alias} {model.version} makes them: pass the --model the cluster model was "
        "registered from.",
    )  # fmt: skip


def check_sparse_model(
    encoding: SparseEncoding, hosts: str, *, verify_certs: bool = True, ca_certs: str | None = None
) -> str:
    """
    The model whose tokenizer splits passages for ``index --sparse MODEL_ID``.

    ``--sparse-model``, else the deployed model's catalog name. Refuses, before anything is read or written, a model
    that is not a deployed sparse model, and a ``--sparse-model`` that is not a sparse model (its tokenizer would cut
    other tokens).
    """
    if encoding.model_id is None:
        raise ValueError("Indexing into a sparse index needs the cluster model that encodes it: --sparse MODEL_ID.")
    settings = ConnectionSettings(hosts, http_auth=ENV_CREDENTIALS, verify_certs=verify_certs, ca_certs=ca_certs)
    client = settings.sync_client()
    try:
        deployed = require_sparse_model(client, encoding.model_id)
    finally:
        client.close()
    name = encoding.passage_model or str(deployed.get("name"))
    if Path(name).is_dir():
        return name
    try:
        model = get_model(name)
    except UnknownModelError:
        if encoding.passage_model is not None:
            raise
        raise ValueError(
            f"ML Commons model {encoding.model_id} is {name!r}, not a catalog model, so its tokenizer is unknown here: "
            "pass --sparse-model with the catalog sparse model (or the directory of the model) it was registered from."
        ) from None
    if model.family != "neural-sparse":
        raise ValueError(
            f"--sparse-model {name}: {model.name} is not a neural-sparse model; passages are cut with the "
            "tokenizer of the sparse model that encodes them."
        )
    return model.name
