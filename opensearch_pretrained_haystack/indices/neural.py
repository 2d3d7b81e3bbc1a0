"""
Neural search: the cluster embeds documents at ingest and queries at search time.

Three server-side pieces, each created once and then used by name:
- an ingest pipeline whose ``text_embedding`` processor fills ``embedding`` from ``content`` with a deployed
  ML Commons model, so documents written *without* embeddings (by opensearch-haystack's ``DocumentWriter``
  or ``OpenSearchDocumentStore``) are embedded by the cluster;
- an index that runs that pipeline by default (``index.default_pipeline``), built from the catalog by
  ``store.document_store_for`` so its dimension and space type follow the model;
- a hybrid search pipeline that normalizes BM25 and neural scores (min-max) and mixes them (weighted mean),
  used by ``OpenSearchNeuralRetriever`` in hybrid mode.

Sources: ``../shared/docs/ml-commons-api.md`` §13 (neural-search 2.9+, hybrid 2.10+).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch

from haystack_integrations.document_stores.opensearch_pretrained.scoring import LowerBound
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster.document_store import connected_client
from opensearch_pretrained_haystack.cluster.errors import UPLOADER_HINT, ModelNotDeployedError, UnsupportedServerError
from opensearch_pretrained_haystack.cluster.ml_commons import MLCommonsClient
from opensearch_pretrained_haystack.cluster.operations import DEPLOYED_STATES
from opensearch_pretrained_haystack.cluster.versions import (
    HYBRID_BOUNDS_VERSION,
    NEURAL_ASYMMETRIC_VERSION,
    RRF_VERSION,
    WEIGHTED_RRF_VERSION,
    Z_SCORE_VERSION,
    version_text,
)
from opensearch_pretrained_haystack.compatibility import require_cluster_model_fits
from opensearch_pretrained_haystack.indices.knn import VECTOR_FIELD, document_store_for, recorded_model

logger = logging.getLogger(__name__)

TEXT_FIELD = "content"
"""opensearch-haystack stores ``Document.content`` here; the processor reads it and BM25 matches it."""
NEURAL_SEARCH_PLUGIN = "opensearch-neural-search"
NEURAL_MINIMUM_VERSION = (2, 9, 0)
"""``text_embedding`` processor and ``neural`` query with ``model_id`` and ``k`` (generally available in 2.9)."""
HYBRID_MINIMUM_VERSION = (2, 10, 0)
"""``hybrid`` query and the ``normalization-processor`` search processor."""
DEFAULT_HYBRID_WEIGHTS = (0.3, 0.7)
"""(BM25, neural): the weights of OpenSearch's own hybrid search example."""
DEFAULT_RANK_CONSTANT = 60
"""The ``score-ranker-processor``'s own default k."""


def ingest_pipeline_body(
    model_id: str,
    *,
    text_field: str = TEXT_FIELD,
    batch_size: int | None = None,
    processor_type: str = "text_embedding",
    target_field: str = VECTOR_FIELD,
) -> dict[str, Any]:
    """
    An ingest pipeline that embeds ``text_field`` into opensearch-haystack's ``embedding`` field.

    ``batch_size`` (2.16+) lets the processor send several documents of a bulk request in one predict call.
    ``processor_type``/``target_field`` select another inference processor of the same shape (``sparse_encoding``).
    """
    processor: dict[str, Any] = {"model_id": model_id, "field_map": {text_field: target_field}}
    if batch_size is not None:
        processor["batch_size"] = batch_size
    return {
        "description": f"Embeds {text_field!r} into {target_field!r} with ML Commons model {model_id}",
        "processors": [{processor_type: processor}],
    }


def hybrid_search_pipeline_body(
    weights: Sequence[float] = DEFAULT_HYBRID_WEIGHTS,
    *,
    normalization: Literal["min_max", "z_score"] = "min_max",
    lower_bounds: Sequence[LowerBound] | None = None,
) -> dict[str, Any]:
    """
    A search pipeline that normalizes each sub-query's scores and takes their weighted mean.

    ``weights`` follow the order of the hybrid query's sub-queries: (BM25, neural) for our retriever.
    ``normalization`` is ``min_max`` (2.10+) or ``z_score`` (3.0+); ``lower_bounds`` (min-max only, 3.0+) give
    one ``LowerBound`` per sub-query. ``scoring.fuse`` computes the same on the client.
    """
    if len(weights) != 2 or any(w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"weights must be two non-negative numbers (BM25, neural) that sum to 1, not {list(weights)}.")
    if normalization not in ("min_max", "z_score"):
        raise ValueError(f"normalization must be 'min_max' or 'z_score', not {normalization!r}.")
    technique: dict[str, Any] = {"technique": normalization}
    if lower_bounds is not None:
        if normalization != "min_max" or len(lower_bounds) != 2:
            raise ValueError("lower_bounds take min_max normalization and two bounds: BM25's, then the neural one's.")
        technique["parameters"] = {"lower_bounds": [bound.to_json() for bound in lower_bounds]}
    described = "min-max" if normalization == "min_max" else "z-score"
    return {
        "description": f"Hybrid search: {described} normalized BM25 and neural scores, weighted mean",
        "phase_results_processors": [
            {
                "normalization-processor": {
                    "normalization": technique,
                    "combination": {"technique": "arithmetic_mean", "parameters": {"weights": list(weights)}},
                }
            }
        ],
    }


def require_neural_search(client: OpenSearch, minimum: tuple[int, int, int] = NEURAL_MINIMUM_VERSION) -> None:
    """
    Raise ``UnsupportedServerError`` saying what to do if the cluster cannot run neural search.

    Checked once at set-up, so a missing plugin is reported there and not as a puzzling query parse error.
    """
    version = MLCommonsClient(client).server_profile().version
    if version < minimum:
        raise UnsupportedServerError(
            f"OpenSearch {'.'.join(map(str, version))} is too old for this: it needs {'.'.join(map(str, minimum))} "
            "or newer. Upgrade the cluster, or embed on the client (LocalOnnxDocumentEmbedder / "
            "OpenSearchMLDocumentEmbedder with OpenSearchEmbeddingRetriever)."
        )
    plugins = {entry.get("component") for entry in client.cat.plugins(format="json")}
    if NEURAL_SEARCH_PLUGIN not in plugins:
        raise UnsupportedServerError(
            f"The cluster has no {NEURAL_SEARCH_PLUGIN} plugin, so it cannot embed at ingest or run neural queries. "
            "Install the plugin (bin/opensearch-plugin install opensearch-neural-search), or embed on the client "
            "(LocalOnnxDocumentEmbedder / OpenSearchMLDocumentEmbedder with OpenSearchEmbeddingRetriever)."
        )


def require_feature(client: OpenSearch, feature: str, needed: tuple[int, int, int], way_out: str) -> None:
    """Raise ``UnsupportedServerError`` in one line if the cluster is older than ``needed`` for ``feature``."""
    version = MLCommonsClient(client).server_profile().version
    if version < needed:
        raise UnsupportedServerError(
            f"OpenSearch {version_text(version)} has no {feature}: it needs {version_text(needed)} or newer; {way_out}."
        )


def require_deployed(client: OpenSearch, model_id: str) -> dict[str, Any]:
    """
    The model document, if the model is deployed; else ``ModelNotDeployedError`` naming the uploader.

    The cluster does not check the model when a pipeline is created: a wrong id would only fail at ingest.
    """
    model = MLCommonsClient(client).get_model(model_id)
    if model.get("model_state") not in DEPLOYED_STATES:
        raise ModelNotDeployedError(
            f"ML Commons model {model_id} ({model.get('name')}) is {model.get('model_state')}, not deployed, so the "
            f"cluster cannot embed with it. {UPLOADER_HINT}"
        )
    return model


def create_ingest_pipeline(
    client: OpenSearch,
    pipeline_id: str,
    model_id: str,
    *,
    dimension: int | None = None,
    text_field: str = TEXT_FIELD,
    batch_size: int | None = None,
    model_name: str | None = None,
) -> None:
    """
    Create (or replace) the embedding ingest pipeline after checking the cluster and the model.

    With ``dimension`` (the index's vector size), a model producing vectors of another size is refused here,
    instead of every document failing at ingest with a ``mapper_parsing_exception``; with ``model_name`` (the
    index's model), a deployed model registered under another name is refused too.
    """
    require_neural_search(client)
    deployed = require_deployed(client, model_id)
    config = deployed.get("model_config") or {}
    if config.get("query_prefix") or config.get("passage_prefix"):
        require_feature(
            client, f"asymmetric models in ingest pipelines (model {model_id} has query/passage prefixes)",
            NEURAL_ASYMMETRIC_VERSION, "embed the documents on the client (OpenSearchMLDocumentEmbedder sends the "
            "content type) and write them with their embeddings",
        )  # fmt: skip
    if dimension is not None:
        require_cluster_model_fits(
            model_id, deployed, dimension, name=model_name,
            way_out="Deploy the index's model with PretrainedModelUploader, or use a new index for this one.",
        )  # fmt: skip
    client.ingest.put_pipeline(
        id=pipeline_id, body=ingest_pipeline_body(model_id, text_field=text_field, batch_size=batch_size)
    )


def require_query_model(client: OpenSearch, index: str, model_id: str) -> None:
    """
    Refuse (``IndexMismatchError``) a query model that is not the model ``index`` records.

    Another size, or registered under another name. An index without a record is not checked here (``check_index``
    warns).
    """
    recorded = recorded_model(client, index)
    if recorded is not None:
        require_cluster_model_fits(
            model_id, MLCommonsClient(client).get_model(model_id), recorded.dimension, name=recorded.name,
            way_out=f"Query index {index!r} with the ML Commons id of {recorded.label()}, the model it was built with.",
        )  # fmt: skip


def create_hybrid_search_pipeline(
    client: OpenSearch,
    pipeline_id: str,
    *,
    weights: Sequence[float] | None = None,
    fusion: Literal["min_max", "z_score", "rrf"] = "min_max",
    rank_constant: int = DEFAULT_RANK_CONSTANT,
    lower_bounds: Sequence[LowerBound] | None = None,
) -> None:
    """
    Create (or replace) the search pipeline that combines a hybrid query's BM25 and neural results.

    ``fusion="min_max"`` (OpenSearch 2.10+) min-max normalizes each sub-query's scores and takes their weighted
    mean (``weights`` default ``DEFAULT_HYBRID_WEIGHTS``); ``lower_bounds`` (3.0+) floor each sub-query's minimum.
    ``fusion="z_score"`` (3.0+) normalizes by each sub-query's mean and standard deviation instead.
    ``fusion="rrf"`` (2.19+) is reciprocal rank fusion: each document scores the sum over sub-queries of
    ``1 / (rank_constant + rank)``, so BM25's and cosine's scales never meet; ``weights`` there (3.1+) scale each
    sub-query's share. The server version is checked first, so an older one is refused before anything is sent.
    """
    if fusion in ("min_max", "z_score"):
        body = hybrid_search_pipeline_body(
            DEFAULT_HYBRID_WEIGHTS if weights is None else weights, normalization=fusion, lower_bounds=lower_bounds
        )
        if fusion == "z_score":
            require_feature(client, "z_score normalization", Z_SCORE_VERSION, "use fusion='min_max' or 'rrf'")
        if lower_bounds is not None:
            require_feature(client, "min-max lower_bounds", HYBRID_BOUNDS_VERSION, "leave lower_bounds out")
        require_neural_search(client, HYBRID_MINIMUM_VERSION)
    elif fusion == "rrf":
        if lower_bounds is not None:
            raise ValueError("lower_bounds belong to min_max normalization, not to rrf.")
        require_neural_search(client, RRF_VERSION if weights is None else WEIGHTED_RRF_VERSION)
        profile = MLCommonsClient(client).server_profile()
        body = rrf_search_pipeline_body(
            rank_constant=rank_constant, weights=weights, in_parameters=profile.rrf_rank_constant_in_parameters
        )
    else:
        raise ValueError(f"fusion must be 'min_max', 'z_score' or 'rrf', not {fusion!r}.")
    client.search_pipeline.put(id=pipeline_id, body=body)


def rrf_search_pipeline_body(
    *, rank_constant: int = DEFAULT_RANK_CONSTANT, weights: Sequence[float] | None = None, in_parameters: bool = False
) -> dict[str, Any]:
    """
    A search pipeline that fuses a hybrid query's sub-query rankings by reciprocal rank (``score-ranker-processor``).

    ``rank_constant`` is k in ``1 / (k + rank)``, 1 to 10,000; ``weights`` (BM25, neural) are optional (3.1+).
    ``in_parameters``: put k in ``combination.parameters``, where OpenSearch 2.19–3.0 read it (see versions.py).
    """
    if isinstance(rank_constant, bool) or not isinstance(rank_constant, int) or not 1 <= rank_constant <= 10_000:
        raise ValueError(f"rank_constant must be a whole number from 1 to 10000, not {rank_constant!r}.")
    if weights is not None and (len(weights) != 2 or any(not 0 <= w <= 1 for w in weights)):
        raise ValueError(f"RRF weights must be two numbers from 0 to 1 (BM25, neural), not {list(weights)}.")
    parameters: dict[str, Any] = {"weights": list(weights)} if weights is not None else {}
    combination: dict[str, Any] = {"technique": "rrf"}
    if in_parameters:
        parameters["rank_constant"] = rank_constant
    else:
        combination["rank_constant"] = rank_constant
    if parameters:
        combination["parameters"] = parameters
    return {
        "description": f"Hybrid search: reciprocal rank fusion of BM25 and neural results (k={rank_constant})",
        "phase_results_processors": [{"score-ranker-processor": {"combination": combination}}],
    }


def neural_document_store(
    model: PretrainedModel,
    hosts: str | list[str],
    index: str,
    model_id: str,
    *,
    pipeline_id: str | None = None,
    batch_size: int | None = None,
    **store_kwargs: Any,
) -> OpenSearchDocumentStore:
    """
    opensearch-haystack's store for an index whose documents the cluster embeds with ``model_id`` at ingest.

    The index is created (or checked) for ``model`` by ``document_store_for``; the ingest pipeline
    ``pipeline_id`` (default ``<index>-embedding``) is created and made the index's default pipeline, so
    every write through the store (or any other client) is embedded unless it names another pipeline.
    Raises ``IndexMismatchError`` if the index or the deployed model does not fit ``model``.
    ``store_kwargs`` go to ``document_store_for`` (``http_auth``, ``verify_certs``, ``ca_certs``, ...).
    """
    store = document_store_for(model, hosts, index, **store_kwargs)
    client = connected_client(store)  # built by document_store_for's index check, with the store's own auth
    pipeline_id = pipeline_id or f"{index}-embedding"
    create_ingest_pipeline(
        client, pipeline_id, model_id, dimension=model.dimension, batch_size=batch_size, model_name=model.name
    )
    client.indices.put_settings(index=index, body={"index.default_pipeline": pipeline_id})
    logger.info("Index %s embeds %r with model %s at ingest (pipeline %s).", index, TEXT_FIELD, model_id, pipeline_id)
    return store
