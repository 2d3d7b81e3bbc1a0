"""``search``: the best source documents for a query, from the target ``index`` wrote."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haystack import Document

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    DEFAULT_BM25_WEIGHT,
    DEFAULT_FUSION,
    DEFAULT_PER_SOURCE,
)
from opensearch_pretrained_haystack.app.batch.remote_model import ENV_CREDENTIALS
from opensearch_pretrained_haystack.app.batch.targets import Target, load_store
from opensearch_pretrained_haystack.app.pipelines import found_documents, highlighter, query_pipeline, ranker
from opensearch_pretrained_haystack.artifacts.resolve import resolve_artifact
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.errors import UnknownModelError
from opensearch_pretrained_haystack.inference.tokenizer import shared_tokenizer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rerank:
    """
    How ``search`` and ``evaluate`` rerank the retrieved passages.

    With a catalog cross-encoder (or a model directory) run locally, or with a cross-encoder deployed in the target's
    cluster (``remote_model_id``); ``top_k`` passages are reranked (default: as many as are retrieved without
    reranking).
    """

    model: str | None = None
    remote_model_id: str | None = None
    top_k: int | None = None

    def __post_init__(self) -> None:
        if (self.model is None) == (self.remote_model_id is None):
            raise ValueError(
                "Rerank with a local cross-encoder (--rerank MODEL) or the cluster's (--remote-rerank ID)."
            )
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"--rerank-top-k must be 1 or more (passages to rerank), got {self.top_k}.")

    def component(self, target: Target) -> Any:
        """The ranker: local, or the cluster's with the target's credentials and TLS settings."""
        if self.remote_model_id is None:
            assert self.model is not None
            return ranker(self.model)
        if target.hosts is None:
            raise ValueError("--remote-rerank ID reranks in the cluster: give --opensearch URL (and --index).")
        return ranker(
            remote_model_id=self.remote_model_id, hosts=target.hosts, http_auth=ENV_CREDENTIALS, **target.tls()
        )


@dataclass(frozen=True)
class Highlight:
    """
    How ``search`` highlights the evidence sentences of its documents.

    ``model`` is a catalog highlighter (name or alias) or a model directory, run locally, or else the id of a
    highlighter deployed in the target's cluster.
    """

    model: str

    def component(self, target: Target) -> Any:
        """The highlighter: local, or the cluster's with the target's credentials and TLS settings."""
        if Path(self.model).expanduser().is_dir() or _is_catalog_highlighter(self.model):
            return highlighter(self.model)
        if target.hosts is None:
            raise ValueError(
                f"--highlight {self.model} is neither a catalog highlighter nor a model directory; a highlighter "
                "deployed in a cluster needs --opensearch URL."
            )
        return highlighter(remote_model_id=self.model, hosts=target.hosts, http_auth=ENV_CREDENTIALS, **target.tls())


def _is_catalog_highlighter(name: str) -> bool:
    try:
        return get_model(name).family == "sentence-highlighting"
    except UnknownModelError:
        return False


def search(
    query: str,
    target: Target,
    model: PretrainedModel,
    *,
    top_k: int = 10,
    mode: str = "dense",
    fusion: str = DEFAULT_FUSION,
    bm25_weight: float = DEFAULT_BM25_WEIGHT,
    per_source: bool = DEFAULT_PER_SOURCE,
    rerank: Rerank | None = None,
    highlight: Highlight | None = None,
) -> list[Document]:
    """
    The ``top_k`` source documents for ``query``, best first, each scored by its best passage.

    With ``rerank``, by the cross-encoder's score; with ``highlight``, that passage's evidence sentences are in its
    meta. ``mode``, ``fusion``, ``bm25_weight`` and ``per_source`` as ``query_pipeline`` takes them (on a store
    holding sparse embeddings, ``hybrid`` fuses sparse too, its query encoded as ``store_sparse_query`` says).
    """
    if top_k < 1:
        raise ValueError(f"top-k must be 1 or more (how many documents to return), got {top_k}.")
    if not query.strip():
        raise ValueError(f"The query {query!r} is empty: give the words to search for.")
    store = load_store(target, model)
    if mode not in ("bm25", "sparse") and target.sparse is None:
        _note_truncation(query, model)
    pipeline = query_pipeline(
        store,
        model=model.name,
        version=model.version,
        top_k=top_k,
        mode=mode,
        fusion=fusion,
        bm25_weight=bm25_weight,
        per_source=per_source,
        sparse=target.sparse,
        sparse_query=store_sparse_query(store, target.sparse_query, mode),
        highlight=None if highlight is None else highlight.component(target),
        **reranking(rerank, target),
    )
    return found_documents(pipeline, query)


def store_sparse_query(store: Any, given: str | None, mode: str) -> str | None:
    """
    The model that encodes queries for the sparse side of a store's ``sparse`` or ``hybrid`` search.

    ``given`` (``--sparse-tokenizer``), else the catalog's ``search_with`` of the store's sparse model; None when
    there is no sparse side (another mode, an OpenSearch target, a store holding no sparse embeddings for ``hybrid``).

    :param store: The store searched.
    :param given: The query model asked for, if any.
    :param mode: The search mode.
    :returns: The query model, or None.
    :raises ValueError: For ``sparse`` on a store without sparse embeddings, or whose sparse model is not in the
        catalog and no query model is given.
    """
    if not isinstance(store, SQLiteDocumentStore) or mode not in ("sparse", "hybrid"):
        return None
    recorded = store.stored_sparse_model
    if recorded is None:
        if mode == "sparse":
            raise ValueError(
                f"Store {store.path} holds no sparse embeddings: index with --sparse-encoder ALIAS|DIR first."
            )
        return None
    if given is not None:
        return given
    try:
        search_with = None if recorded.artifact_sha256 else get_model(recorded.name, recorded.version).search_with
    except UnknownModelError:
        search_with = None
    if search_with is None:
        raise ValueError(
            f"Store {store.path} holds sparse embeddings of {recorded.label()}: say which model encodes queries "
            "(--sparse-tokenizer ALIAS|DIR: its query tokenizer, or the encoder itself for a bi-encoder)."
        )
    return search_with


def _note_truncation(query: str, model: PretrainedModel) -> None:
    """Warn (one line) when the model reads only the start of ``query``: the rest does not shape its vector."""
    lease = shared_tokenizer(resolve_artifact(model, progress_bar=False))
    try:
        tokens = len(lease.value.tokenizer.encode(query).ids)
        limit = lease.value.max_tokens
    finally:
        lease.release()
    if tokens > limit:
        logger.warning(
            "The query is %d tokens long; %s %s reads its first %d, so the rest does not count in the search.",
            tokens, model.alias, model.version, limit,
        )  # fmt: skip


def reranking(rerank: Rerank | None, target: Target) -> dict[str, Any]:
    """``query_pipeline``'s reranking arguments for ``rerank`` (none without it)."""
    return {} if rerank is None else {"rerank": rerank.component(target), "rerank_top_k": rerank.top_k}
