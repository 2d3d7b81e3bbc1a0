"""
Ready-made indexing and query pipelines, with the local (ONNX) or the remote (ML Commons) embedder.

Both work with opensearch-haystack's ``OpenSearchDocumentStore`` (see ``store.document_store_for``), with the
embedded ``SQLiteDocumentStore`` (the default without a cluster: dense, BM25, sparse or hybrid search) or with
Haystack's ``InMemoryDocumentStore``, and both save to YAML and load back with Haystack's default loader, since
every component lives in ``haystack`` or ``haystack_integrations``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from haystack import Document, Pipeline
from haystack.components.converters import TextFileToDocument
from haystack.components.preprocessors import DocumentCleaner
from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
from haystack.components.writers import DocumentWriter
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import DocumentStore, DuplicatePolicy
from haystack_integrations.components.retrievers.opensearch import OpenSearchEmbeddingRetriever
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalOnnxDocumentEmbedder,
    LocalOnnxTextEmbedder,
    LocalSparseDocumentEmbedder,
    LocalSparseTextEmbedder,
)
from haystack_integrations.components.preprocessors.opensearch_pretrained import ModelTokenSplitter
from haystack_integrations.components.preprocessors.opensearch_pretrained.model_token_splitter import (
    DEFAULT_OVERLAP,
    DEFAULT_TITLE_HEADER,
)
from haystack_integrations.components.rankers.opensearch_pretrained import SourceDocumentCollapser
from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralSparseRetriever
from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_bm25_retriever import (
    SQLiteBM25Retriever,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_embedding_retriever import (
    SQLiteEmbeddingRetriever,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_hybrid_retriever import (
    SQLiteHybridRetriever,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_sparse_embedding_retriever import (
    SQLiteSparseEmbeddingRetriever,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_sparse_hybrid_retriever import (
    SQLiteSparseHybridRetriever,
)
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    DEFAULT_BM25_WEIGHT,
    DEFAULT_FUSION,
    DEFAULT_PER_SOURCE,
)
from opensearch_pretrained_haystack.indices.sparse import SparseEncoding

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_RERANK_MODEL = "ms-marco-MiniLM-L-6-v2"
DEFAULT_HIGHLIGHT_MODEL = "opensearch-semantic-highlighter-v1"
# Passages fetched per source document returned, so that several passages of one source still leave top_k sources.
PASSAGES_PER_RESULT = 5
# The largest k of a k-NN query (and the default index.max_result_window).
KNN_MAX_K = 10_000
# How the retriever finds passages: by the query's embedding, by its words (BM25), by its sparse embedding, or
# fused (BM25 and dense, and sparse when the store holds sparse embeddings).
MODES = ("dense", "bm25", "sparse", "hybrid")


def document_embedder(
    model: str = DEFAULT_MODEL,
    version: str | None = None,
    *,
    remote_model_id: str | None = None,
    hosts: str | list[str] | None = None,
    mirror: str | None = None,
    cache_dir: str | None = None,
    batch_size: int = 32,
    progress_bar: bool = False,
    **remote_kwargs: Any,
) -> Any:
    """
    The document embedder: local, or the cluster's with ``remote_model_id``.

    The local ``LocalOnnxDocumentEmbedder``, or with ``remote_model_id`` the cluster's ``OpenSearchMLDocumentEmbedder``
    (``hosts`` and ``remote_kwargs`` such as ``http_auth`` go to it).
    """
    if remote_model_id is None:
        return LocalOnnxDocumentEmbedder(
            model, version, mirror=mirror, cache_dir=cache_dir, batch_size=batch_size, progress_bar=progress_bar
        )
    from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_document_embedder import (
        OpenSearchMLDocumentEmbedder,
    )

    return OpenSearchMLDocumentEmbedder(
        _required_hosts(hosts), remote_model_id, batch_size=batch_size, progress_bar=progress_bar, **remote_kwargs
    )


def text_embedder(
    model: str = DEFAULT_MODEL,
    version: str | None = None,
    *,
    remote_model_id: str | None = None,
    hosts: str | list[str] | None = None,
    mirror: str | None = None,
    cache_dir: str | None = None,
    **remote_kwargs: Any,
) -> Any:
    """The query-side twin of ``document_embedder``: ``LocalOnnxTextEmbedder`` or ``OpenSearchMLTextEmbedder``."""
    if remote_model_id is None:
        return LocalOnnxTextEmbedder(model, version, mirror=mirror, cache_dir=cache_dir, progress_bar=False)
    from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_text_embedder import (
        OpenSearchMLTextEmbedder,
    )

    return OpenSearchMLTextEmbedder(_required_hosts(hosts), remote_model_id, **remote_kwargs)


def ranker(
    model: str = DEFAULT_RERANK_MODEL,
    version: str | None = None,
    *,
    remote_model_id: str | None = None,
    hosts: str | list[str] | None = None,
    mirror: str | None = None,
    cache_dir: str | None = None,
    **kwargs: Any,
) -> Any:
    """
    The ranker: local, or the cluster's with ``remote_model_id``; both give the cluster's raw logits.

    The local ``LocalOnnxRanker`` of a catalog cross-encoder (or a model directory), or with ``remote_model_id`` the
    cluster's ``OpenSearchMLRanker`` (``hosts`` goes to it); ``kwargs`` (``batch_size``; ``http_auth`` and TLS for the
    cluster) go to the ranker.
    """
    from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker, OpenSearchMLRanker

    local = {"model": model, "version": version, "mirror": mirror, "cache_dir": cache_dir}
    return _local_or_cluster(LocalOnnxRanker, OpenSearchMLRanker, local, remote_model_id, hosts, kwargs)


def highlighter(
    model: str = DEFAULT_HIGHLIGHT_MODEL,
    version: str | None = None,
    *,
    remote_model_id: str | None = None,
    hosts: str | list[str] | None = None,
    mirror: str | None = None,
    cache_dir: str | None = None,
    **kwargs: Any,
) -> Any:
    """
    The highlighter: local, or the cluster's with ``remote_model_id``; both give the same highlights.

    The local ``LocalSemanticHighlighter`` of the catalog highlighter (or a model directory), or with
    ``remote_model_id`` the cluster's ``OpenSearchMLSemanticHighlighter`` (``hosts`` goes to it); ``kwargs``
    (``http_auth`` and TLS for the cluster) go to it.
    """
    from haystack_integrations.components.extractors.opensearch_pretrained import (
        LocalSemanticHighlighter,
        OpenSearchMLSemanticHighlighter,
    )

    local = {"model": model, "version": version, "mirror": mirror, "cache_dir": cache_dir}
    return _local_or_cluster(
        LocalSemanticHighlighter, OpenSearchMLSemanticHighlighter, local, remote_model_id, hosts, kwargs
    )


def _local_or_cluster(
    local_class: type,
    cluster_class: type,
    local: dict[str, Any],
    remote_model_id: str | None,
    hosts: str | list[str] | None,
    kwargs: dict[str, Any],
) -> Any:
    """The local component (without a progress bar unless asked), or the cluster's for ``remote_model_id``."""
    if remote_model_id is None:
        return local_class(**local, **{"progress_bar": False, **kwargs})
    if not hosts:
        raise ValueError(
            f"{cluster_class.__name__} needs the cluster: pass hosts='https://host:9200' with remote_model_id."
        )
    return cluster_class(hosts=hosts, model_id=remote_model_id, **kwargs)


@dataclass(frozen=True)
class IndexingComponents:
    """
    The steps between reading and writing, in the order every indexing path runs them: clean → split → embed.

    ``indexing_pipeline`` wires them into a Pipeline; the batch job (``index``, ``evaluate``) runs the same
    components on its stream of chunks, so both give the same passages and vectors for the same input.
    """

    cleaner: DocumentCleaner
    splitter: ModelTokenSplitter | None
    embedder: Any
    """None when the cluster encodes passages at ingest (a sparse index's pipeline): nothing is embedded here."""
    sparse_embedder: Any = None
    """A ``LocalSparseDocumentEmbedder`` that adds sparse embeddings after ``embedder``, or None."""

    def steps(self) -> dict[str, Any]:
        """The components by their pipeline names, in flow order (no splitter when documents are kept whole)."""
        named = {
            "cleaner": self.cleaner, "splitter": self.splitter, "embedder": self.embedder,
            "sparse_embedder": self.sparse_embedder,
        }  # fmt: skip
        return {name: step for name, step in named.items() if step is not None}

    def warm_up(self) -> None:
        """
        Resolve and load the model now (fetch, verify, load).

        So a model that cannot be had fails before any store or index is created for it.
        """
        for step in (self.splitter, self.embedder, self.sparse_embedder):
            if step is not None:
                step.warm_up()

    def passages(self, documents: list[Document]) -> list[Document]:
        """Clean and split ``documents``: what the embedder gets."""
        return list(self.stream_passages(documents))

    def stream_passages(self, documents: list[Document]) -> Iterator[Document]:
        """``passages``, made as they are consumed (a huge document's are never all held at once)."""
        cleaned: list[Document] = self.cleaner.run(documents=documents)["documents"]
        return self.splitter.stream(cleaned) if self.splitter else iter(cleaned)

    def embed(self, passages: list[Document]) -> list[Document]:
        """The passages with their vectors; those without content come back unchanged (see ``has_content``)."""
        documents = passages
        for step in (self.embedder, self.sparse_embedder):
            if step is not None:
                documents = step.run(documents=documents)["documents"]
        return documents


@dataclass(frozen=True)
class Splitting:
    """
    How every indexing path cuts documents into passages: ``ModelTokenSplitter``'s settings, or whole documents.

    :param split: Cut documents into passages; ``False`` embeds them whole (truncated by the model).
    :param window: Tokens per passage; ``None`` fills the model's limit.
    :param overlap: Tokens each passage shares with the previous one.
    :param title_header: Start every passage of a document with a ``meta["title"]`` with that title.
    :raises ValueError: A passage setting with ``split=False``, which would be silently ignored.
    """

    split: bool = True
    window: int | None = None
    overlap: int = DEFAULT_OVERLAP
    title_header: bool = DEFAULT_TITLE_HEADER

    def __post_init__(self) -> None:
        """Refuse a passage setting with whole documents."""
        if self.split:
            return
        given = (
            (f"window={self.window}", f"--window {self.window}") if self.window is not None
            else (f"overlap={self.overlap}", f"--overlap {self.overlap}") if self.overlap != DEFAULT_OVERLAP
            else ("title_header=False", "--no-title-header") if self.title_header != DEFAULT_TITLE_HEADER
            else None
        )  # fmt: skip
        if given is not None:
            raise ValueError(
                f"{given[0]} ({given[1]}) cuts passages, but split=False (--no-split) keeps documents whole: "
                "give one or the other."
            )

    def splitter(
        self, model: str, version: str | None, *, mirror: str | None = None, cache_dir: str | None = None
    ) -> ModelTokenSplitter | None:
        """
        The splitter of these settings for ``model``'s tokenizer.

        :param model: The catalog name (or artifact directory) whose tokenizer counts the tokens.
        :param version: Its version; ``None`` takes the catalog's default.
        :param mirror: Where artifacts are read from instead of the official site.
        :param cache_dir: Where verified artifacts are kept.
        :returns: The splitter, or ``None`` with ``split=False``.
        """
        if not self.split:
            return None
        return ModelTokenSplitter(
            model, version, mirror=mirror, cache_dir=cache_dir, window=self.window, overlap=self.overlap,
            title_header=self.title_header,
        )  # fmt: skip


DEFAULT_SPLITTING = Splitting()


def indexing_components(
    *,
    model: str = DEFAULT_MODEL,
    version: str | None = None,
    embedder: Any = None,
    splitting: Splitting = DEFAULT_SPLITTING,
    mirror: str | None = None,
    cache_dir: str | None = None,
    cluster_encodes: bool = False,
    sparse_encoder: str | None = None,
) -> IndexingComponents:
    """
    The cleaner, the splitter and the embedder that every indexing path runs.

    The splitter is ``splitting``'s (None for whole documents, truncated by the model); the embedder defaults to the
    local embedder of ``model``, and is None with ``cluster_encodes``, for an index whose ingest pipeline encodes (or
    that ``sparse_encoder`` alone fills). The splitter always uses ``model``'s tokenizer, since that is the token limit
    the vectors are made under. ``sparse_encoder`` (a catalog sparse encoder or an artifact directory) adds each
    passage's sparse embedding, computed here.
    """
    splitter = splitting.splitter(model, version, mirror=mirror, cache_dir=cache_dir)
    if not cluster_encodes:
        embedder = embedder or document_embedder(model, version, mirror=mirror, cache_dir=cache_dir)
    sparse_embedder = (
        LocalSparseDocumentEmbedder(sparse_encoder, mirror=mirror, cache_dir=cache_dir, progress_bar=False)
        if sparse_encoder is not None
        else None
    )
    return IndexingComponents(
        cleaner=DocumentCleaner(keep_id=True), splitter=splitter, embedder=None if cluster_encodes else embedder,
        sparse_embedder=sparse_embedder,
    )  # fmt: skip


def indexing_pipeline(
    document_store: DocumentStore,
    *,
    model: str = DEFAULT_MODEL,
    version: str | None = None,
    embedder: Any = None,
    splitting: Splitting = DEFAULT_SPLITTING,
    mirror: str | None = None,
    cache_dir: str | None = None,
) -> Pipeline:
    """
    files → ``TextFileToDocument`` → ``DocumentCleaner`` → ``ModelTokenSplitter`` → embedder → ``DocumentWriter``.

    Run it with ``{"converter": {"sources": [paths]}}``. The middle steps are ``indexing_components`` (see there
    for ``embedder`` and ``splitting``); pass ``document_embedder(..., remote_model_id=...)``
    to embed in the cluster. Passages overwrite same-id passages, so indexing the same files twice changes nothing.
    """
    components = indexing_components(
        model=model, version=version, embedder=embedder, splitting=splitting, mirror=mirror, cache_dir=cache_dir,
    )  # fmt: skip
    pipeline = Pipeline()
    pipeline.add_component("converter", TextFileToDocument())
    for name, step in components.steps().items():
        pipeline.add_component(name, step)
    pipeline.add_component("writer", DocumentWriter(document_store, policy=DuplicatePolicy.OVERWRITE))
    for sender, receiver in pairwise(["converter", *components.steps(), "writer"]):
        pipeline.connect(f"{sender}.documents", f"{receiver}.documents")
    return pipeline


def query_pipeline(
    document_store: OpenSearchDocumentStore | SQLiteDocumentStore | InMemoryDocumentStore,
    *,
    model: str = DEFAULT_MODEL,
    version: str | None = None,
    embedder: Any = None,
    top_k: int = 10,
    rerank: Any = None,
    rerank_top_k: int | None = None,
    mode: str = "dense",
    fusion: str = DEFAULT_FUSION,
    bm25_weight: float = DEFAULT_BM25_WEIGHT,
    mirror: str | None = None,
    cache_dir: str | None = None,
    sparse: SparseEncoding | None = None,
    per_source: bool = DEFAULT_PER_SOURCE,
    highlight: Any = None,
    sparse_query: str | None = None,
) -> Pipeline:
    """
    text embedder → retriever (OpenSearch k-NN, SQLite or in-memory) → ``SourceDocumentCollapser``.

    Run it with ``query_inputs(pipeline, query)``; ``collapser.documents`` holds the ``top_k`` best source
    documents, each scored by its best passage. ``embedder`` defaults to the local text embedder of ``model``.
    With ``rerank`` (a ranker component, see ``ranker``) between retriever and collapser, the retriever fetches
    ``rerank_top_k`` passages (default: as many as without reranking), the ranker rescores all of them (its
    ``top_k`` is set to that number) and the collapser scores each source by its best reranked passage. With
    ``sparse`` it is ``sparse_query_pipeline`` instead (``model`` and ``embedder`` unused). With ``highlight`` (a
    semantic highlighter component, see ``highlighter``) after the collapser, ``highlighter.documents`` holds the
    same documents with the sentences of each best passage that answer the query in their meta (run it with
    ``found_documents``). On an ``SQLiteDocumentStore``, ``mode`` is ``dense``, ``bm25`` (no embedder) or
    ``hybrid`` (``fusion`` ``min_max`` with ``bm25_weight``, or ``rrf``; ``per_source`` fuses source documents
    instead of passages), ``sparse`` (``sparse_query``, a query tokenizer or a bi-encoder, encodes the query) or,
    with ``sparse_query``, ``hybrid`` of BM25, dense and sparse (``fusion``; ``min_max``/``z_score`` weigh the three
    equally, so ``bm25_weight`` and ``per_source`` stay at their defaults); the other stores search ``dense``.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
    if sparse is not None:
        if rerank is not None or highlight is not None:
            raise ValueError("Reranking or highlighting a neural sparse search is not supported yet: use a dense one.")
        return sparse_query_pipeline(document_store, sparse, top_k=top_k, mirror=mirror, cache_dir=cache_dir)
    candidates = top_k * PASSAGES_PER_RESULT
    if rerank is not None or rerank_top_k is not None:
        candidates = _reranked_candidates(rerank, rerank_top_k, candidates)
    if isinstance(document_store, OpenSearchDocumentStore):
        _require_dense(mode, "an OpenSearch index")
        if top_k > KNN_MAX_K:
            raise ValueError(f"top_k {top_k} is more than OpenSearch k-NN returns for one query ({KNN_MAX_K:,}).")
        candidates = min(candidates, KNN_MAX_K)  # a larger k is refused by the server
        retriever: Any = OpenSearchEmbeddingRetriever(document_store=document_store, top_k=candidates)
    elif isinstance(document_store, SQLiteDocumentStore):
        if mode == "sparse" or (mode == "hybrid" and sparse_query is not None):
            return _sparse_store_pipeline(
                document_store, sparse_query, model=model, version=version, embedder=embedder, top_k=top_k,
                candidates=candidates, mode=mode, fusion=fusion, rerank=rerank, highlight=highlight, mirror=mirror,
                cache_dir=cache_dir, weighted=(bm25_weight, per_source) != (DEFAULT_BM25_WEIGHT, DEFAULT_PER_SOURCE),
            )  # fmt: skip
        if mode == "bm25":
            retriever = SQLiteBM25Retriever(document_store=document_store, top_k=candidates)
        elif mode == "hybrid":
            retriever = SQLiteHybridRetriever(
                document_store=document_store, top_k=candidates, fusion=fusion, bm25_weight=bm25_weight,
                per_source=per_source,
            )  # fmt: skip
        else:
            retriever = SQLiteEmbeddingRetriever(document_store=document_store, top_k=candidates)
    elif isinstance(document_store, InMemoryDocumentStore):
        _require_dense(mode, "an InMemoryDocumentStore")
        retriever = InMemoryEmbeddingRetriever(document_store=document_store, top_k=candidates)
    else:
        raise TypeError(
            "query_pipeline needs an OpenSearchDocumentStore, an SQLiteDocumentStore or an InMemoryDocumentStore, "
            f"got {type(document_store).__name__}."
        )
    pipeline = Pipeline()
    if mode != "bm25":
        pipeline.add_component(
            "embedder", embedder or text_embedder(model, version, mirror=mirror, cache_dir=cache_dir)
        )
    pipeline.add_component("retriever", retriever)
    if mode != "bm25":
        pipeline.connect("embedder.embedding", "retriever.query_embedding")
    return _collapsed(pipeline, top_k, candidates, rerank, highlight)


def _collapsed(pipeline: Pipeline, top_k: int, candidates: int, rerank: Any, highlight: Any) -> Pipeline:
    """``pipeline`` (ending in its ``retriever``) → [ranker] → ``SourceDocumentCollapser`` → [highlighter]."""
    if rerank is not None:
        rerank.top_k = candidates  # every reranked passage goes on: the collapser keeps the top_k sources
        pipeline.add_component("ranker", rerank)
    pipeline.add_component("collapser", SourceDocumentCollapser(top_k=top_k))
    pipeline.connect("retriever.documents", "ranker.documents" if rerank is not None else "collapser.documents")
    if rerank is not None:
        pipeline.connect("ranker.documents", "collapser.documents")
    if highlight is not None:
        pipeline.add_component("highlighter", highlight)
        pipeline.connect("collapser.documents", "highlighter.documents")
    return pipeline


def _sparse_store_pipeline(
    document_store: SQLiteDocumentStore,
    sparse_query: str | None,
    *,
    model: str,
    version: str | None,
    embedder: Any,
    top_k: int,
    candidates: int,
    mode: str,
    fusion: str,
    rerank: Any,
    highlight: Any,
    mirror: str | None,
    cache_dir: str | None,
    weighted: bool,
) -> Pipeline:
    """
    The store's ``sparse`` search, or its ``hybrid`` of BM25, dense and sparse.

    ``LocalSparseTextEmbedder`` (and the dense text embedder) → the sparse retriever → [ranker] → collapser →
    [highlighter].
    """
    if sparse_query is None:
        raise ValueError("Sparse search encodes the query with a sparse model: give --sparse-tokenizer ALIAS|DIR.")
    if weighted:
        raise ValueError(
            "Hybrid search with sparse weighs BM25, dense and sparse equally and fuses passages: leave --bm25-weight "
            "and --fuse documents out."
        )
    pipeline = Pipeline()
    pipeline.add_component(
        "sparse_embedder", LocalSparseTextEmbedder(sparse_query, mirror=mirror, cache_dir=cache_dir, progress_bar=False)
    )
    if mode == "sparse":
        pipeline.add_component(
            "retriever", SQLiteSparseEmbeddingRetriever(document_store=document_store, top_k=candidates)
        )
    else:
        pipeline.add_component(
            "embedder", embedder or text_embedder(model, version, mirror=mirror, cache_dir=cache_dir)
        )
        pipeline.add_component(
            "retriever", SQLiteSparseHybridRetriever(document_store=document_store, top_k=candidates, fusion=fusion)
        )
        pipeline.connect("embedder.embedding", "retriever.query_embedding")
    pipeline.connect("sparse_embedder.sparse_embedding", "retriever.query_sparse_embedding")
    return _collapsed(pipeline, top_k, candidates, rerank, highlight)


def found_documents(pipeline: Pipeline, query: str) -> list[Document]:
    """Run a ``query_pipeline`` for ``query``: its best documents, highlighted if it has a highlighter."""
    result = pipeline.run(query_inputs(pipeline, query))
    documents: list[Document] = result["highlighter" if "highlighter" in result else "collapser"]["documents"]
    return documents


def sparse_query_pipeline(
    document_store: DocumentStore,
    sparse: SparseEncoding,
    *,
    top_k: int = 10,
    mirror: str | None = None,
    cache_dir: str | None = None,
) -> Pipeline:
    """
    [``LocalSparseTextEmbedder``] → ``OpenSearchNeuralSparseRetriever`` → ``SourceDocumentCollapser``.

    With ``sparse.query_tokenizer`` the query is encoded here and sent as ``query_tokens``; otherwise the cluster
    encodes it with ``sparse.model_id`` (``query_text`` + ``model_id``). Run it with ``query_inputs``.
    """
    if not isinstance(document_store, OpenSearchDocumentStore):
        raise TypeError(f"Sparse search needs an OpenSearchDocumentStore, got {type(document_store).__name__}.")
    if sparse.query_tokenizer is None and sparse.model_id is None:
        raise ValueError(
            "Sparse search encodes the query with --sparse MODEL_ID (cluster) or --sparse-tokenizer ALIAS."
        )
    if top_k > KNN_MAX_K:
        raise ValueError(f"top_k {top_k} is more than one OpenSearch query returns ({KNN_MAX_K:,}).")
    candidates = min(top_k * PASSAGES_PER_RESULT, KNN_MAX_K)
    pipeline = Pipeline()
    if sparse.query_tokenizer is not None:
        embedder = LocalSparseTextEmbedder(
            sparse.query_tokenizer, mirror=mirror, cache_dir=cache_dir, progress_bar=False
        )
        retriever = OpenSearchNeuralSparseRetriever(
            document_store=document_store, vocabulary=sparse.query_tokenizer, top_k=candidates, mirror=mirror,
            cache_dir=cache_dir,
        )  # fmt: skip
        pipeline.add_component("embedder", embedder)
        pipeline.add_component("retriever", retriever)
        pipeline.connect("embedder.sparse_embedding", "retriever.query_sparse_embedding")
    else:
        pipeline.add_component(
            "retriever",
            OpenSearchNeuralSparseRetriever(document_store=document_store, model_id=sparse.model_id, top_k=candidates),
        )
    pipeline.add_component("collapser", SourceDocumentCollapser(top_k=top_k))
    pipeline.connect("retriever.documents", "collapser.documents")
    return pipeline


def query_inputs(pipeline: Pipeline, query: str) -> dict[str, dict[str, Any]]:
    """
    The run data that gives ``query`` to every component of ``pipeline`` that takes the query's text.

    That is the embedder's ``text``, a BM25 or hybrid retriever's ``query``, whichever of them the pipeline has.
    """
    return {
        name: {socket: query for socket in sockets if socket in ("text", "query")}
        for name, sockets in pipeline.inputs().items()
        if "text" in sockets or "query" in sockets
    }


def _reranked_candidates(rerank: Any, rerank_top_k: int | None, default: int) -> int:
    """How many retrieved passages the ranker rescores; the ranker must be one (it has ``top_k`` and a ``query``)."""
    if rerank is None:
        raise ValueError(f"rerank_top_k {rerank_top_k} says how many passages to rerank: give the ranker (rerank=).")
    if not hasattr(rerank, "top_k"):
        raise TypeError(f"rerank must be a ranker component such as LocalOnnxRanker, got {type(rerank).__name__}.")
    if rerank_top_k is not None and rerank_top_k < 1:
        raise ValueError(f"rerank_top_k must be 1 or more (passages to rerank), got {rerank_top_k}.")
    return rerank_top_k or default


def _require_dense(mode: str, store: str) -> None:
    if mode != "dense":
        raise ValueError(
            f"--mode {mode} searches the embedded SQLite store; {store} is searched dense for now (the default)."
        )


def _required_hosts(hosts: str | list[str] | None) -> str | list[str]:
    if not hosts:
        raise ValueError("The remote embedder needs the cluster: pass hosts='https://host:9200' with remote_model_id.")
    return hosts
