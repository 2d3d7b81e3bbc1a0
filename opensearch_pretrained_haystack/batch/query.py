"""``search``: the best source documents for a query, from the target ``index`` wrote."""

from __future__ import annotations

from haystack import Document

from haystack_integrations.document_stores.opensearch_pretrained.scoring import DEFAULT_BM25_WEIGHT, DEFAULT_FUSION
from opensearch_pretrained_haystack.batch.targets import Target, load_store
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.pipelines import query_inputs, query_pipeline


def search(
    query: str,
    target: Target,
    model: PretrainedModel,
    *,
    top_k: int = 10,
    mode: str = "dense",
    fusion: str = DEFAULT_FUSION,
    bm25_weight: float = DEFAULT_BM25_WEIGHT,
) -> list[Document]:
    """The ``top_k`` source documents for ``query``, best first, each scored by its best passage; ``mode``,
    ``fusion`` and ``bm25_weight`` as ``query_pipeline`` takes them."""
    if top_k < 1:
        raise ValueError(f"top-k must be 1 or more (how many documents to return), got {top_k}.")
    store = load_store(target, model)
    pipeline = query_pipeline(
        store, model=model.name, version=model.version, top_k=top_k, mode=mode, fusion=fusion, bm25_weight=bm25_weight
    )
    documents: list[Document] = pipeline.run(query_inputs(pipeline, query))["collapser"]["documents"]
    return documents
