"""The preflight of ``index --remote MODEL_ID``: the cluster model must be deployed and fit the index's model.

It runs before anything is read or written, so a wrong model id leaves no index behind.
"""

from __future__ import annotations

import logging

from haystack.utils import Secret

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
from opensearch_pretrained_haystack.compatibility import require_cluster_model_fits
from opensearch_pretrained_haystack.indices.neural import require_deployed

logger = logging.getLogger(__name__)

# The credentials opensearch-haystack's store reads, so the store and the cluster embedder log in alike.
ENV_CREDENTIALS = (
    Secret.from_env_var("OPENSEARCH_USERNAME", strict=False),
    Secret.from_env_var("OPENSEARCH_PASSWORD", strict=False),
)


def check_remote_model(
    model: PretrainedModel, hosts: str, model_id: str, *, verify_certs: bool = True, ca_certs: str | None = None
) -> None:
    """Refuse, before anything is read or written, a cluster model that is not deployed or whose vectors do not
    have the size of ``model``'s index; warn when it is another model than the one that sets the tokenizer."""
    settings = ConnectionSettings(hosts, http_auth=ENV_CREDENTIALS, verify_certs=verify_certs, ca_certs=ca_certs)
    client = settings.sync_client()
    try:
        deployed = require_deployed(client, model_id)
    finally:
        client.close()
    require_cluster_model_fits(
        model_id, deployed, model.dimension,
        way_out=f"--model {model.alias} {model.version} makes them: pass the --model the cluster model was "
        "registered from.",
    )  # fmt: skip
    if deployed.get("name") != model.name:
        logger.warning(
            "ML Commons model %s is %r, not %s: passages are cut with %s's tokenizer; pass --model with the name "
            "the cluster model was registered from if its token limit differs.",
            model_id, deployed.get("name"), model.name, model.alias,
        )  # fmt: skip
