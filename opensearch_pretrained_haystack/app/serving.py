"""
Pipelines to serve (Hayhooks' wrappers in ``examples/hayhooks`` deploy them).

The query pipelines over the embedded store and the RAG prototype's, configured by environment variables (Hayhooks
builds each wrapper without arguments).

- ``OPENSEARCH_PRETRAINED_STORE``: the store file (default ``example-store.sqlite``, as `indexing_pipeline.py`
  writes it); its recorded model embeds the queries.
- ``OPENSEARCH_PRETRAINED_RERANKER``: a cross-encoder (catalog name or model directory) for ``mode="rerank"``.
- ``OPENSEARCH_PRETRAINED_TOP_K``: how many source documents a search returns (default 5).
- ``OPENSEARCH_PRETRAINED_GENERATOR``: a Haystack chat generator class (import path) answering in the RAG pipeline.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from haystack import Document, Pipeline
from haystack.components.builders import ChatPromptBuilder
from haystack.dataclasses import ChatMessage

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.pipelines import query_inputs, query_pipeline, ranker

MODES = ("dense", "bm25", "hybrid", "rerank")
RAG_TEMPLATE = """Answer the question using only these passages.
{% for document in documents %}
[{{ loop.index }}] {{ document.content }}
{% endfor %}
Question: {{ question }}"""


def store() -> SQLiteDocumentStore:
    """The embedded store ``OPENSEARCH_PRETRAINED_STORE`` names."""
    return SQLiteDocumentStore(path=os.environ.get("OPENSEARCH_PRETRAINED_STORE", "example-store.sqlite"))


def search_pipeline(mode: str) -> Pipeline:
    """The query pipeline of ``mode``: dense, bm25, hybrid, or hybrid reranked by the configured cross-encoder."""
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)}.")
    embedded = store()
    model = embedded.store_model
    rerank = None
    if mode == "rerank":
        reranker = os.environ.get("OPENSEARCH_PRETRAINED_RERANKER")
        if not reranker:
            raise ValueError("mode 'rerank' needs OPENSEARCH_PRETRAINED_RERANKER: a cross-encoder name or directory.")
        rerank = ranker(reranker)
    top_k = int(os.environ.get("OPENSEARCH_PRETRAINED_TOP_K", "5"))
    search_mode = "hybrid" if mode == "rerank" else mode
    return query_pipeline(
        embedded, model=model.name, version=model.version, top_k=top_k, mode=search_mode, rerank=rerank
    )


def rag_pipeline(retrieval: Pipeline, generator: Any | None) -> Pipeline:
    """
    Add a prompt builder (and the generator, if any) after the query pipeline's documents.

    The documents are the highlighted ones when the pipeline has a highlighter.
    """
    retrieval.add_component(
        "prompt_builder", ChatPromptBuilder(template=[ChatMessage.from_user(RAG_TEMPLATE)], required_variables="*")
    )
    documents = "highlighter" if "highlighter" in retrieval.graph.nodes else "collapser"
    retrieval.connect(f"{documents}.documents", "prompt_builder.documents")
    if generator is not None:
        retrieval.add_component("generator", generator)
        retrieval.connect("prompt_builder.prompt", "generator.messages")
    return retrieval


def load_generator(class_path: str | None) -> Any | None:
    """An instance of the chat generator class at ``class_path`` (built without arguments), or None."""
    if not class_path:
        return None
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)()


def run(pipeline: Pipeline, query: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a query pipeline (with ``extra`` inputs) and keep every component's output."""
    data = query_inputs(pipeline, query) | (extra or {})
    return pipeline.run(data, include_outputs_from=set(pipeline.graph.nodes))


def as_json(documents: list[Document]) -> list[dict[str, Any]]:
    """Documents as JSON-ready dicts, as a REST answer carries them."""
    return [document.to_dict(flatten=False) for document in documents]
