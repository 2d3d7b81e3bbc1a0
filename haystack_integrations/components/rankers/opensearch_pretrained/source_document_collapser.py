"""``SourceDocumentCollapser``: retrieved passages back to their source documents, each scored by its best passage."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict

from opensearch_pretrained_haystack.serialization import init_parameters_to_dict


@component
class SourceDocumentCollapser:
    """
    Keeps the best-scoring passage of each source document, under the source's id, best first.

    Passages are recognised by ``meta["source_id"]`` (set by ``ModelTokenSplitter``); a document without it
    stands for itself. The returned document is the best passage with ``id`` set to the source id and the
    passage's own id kept in ``meta["passage_id"]``.

    Usage example:
    ```python
    pipeline.add_component("retriever", OpenSearchEmbeddingRetriever(document_store=store, top_k=50))
    pipeline.add_component("collapser", SourceDocumentCollapser(top_k=10))
    pipeline.connect("retriever.documents", "collapser.documents")
    ```
    """

    def __init__(self, top_k: int | None = None) -> None:
        """
        Create the collapser.

        :param top_k: How many source documents to return; ``None`` returns all. Retrieve more passages than
            this, since several passages of one source count once.
        :raises ValueError: ``top_k`` is below 1.
        """
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be at least 1 or None, got {top_k}.")
        self.top_k = top_k

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceDocumentCollapser:
        """Deserialize the component."""
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document], top_k: int | None = None) -> dict[str, Any]:
        """
        Collapse passages to source documents.

        :param documents: Retrieved passages with scores (higher is better, as Haystack retrievers return).
        :param top_k: Overrides the ``top_k`` given at init.
        :returns: ``documents``: one per source, best score first.
        """
        best: dict[str, Document] = {}
        for passage in documents:
            source_id = passage.meta.get("source_id", passage.id)
            current = best.get(source_id)
            if current is None or _score(passage) > _score(current):
                best[source_id] = passage
        ranked = sorted(best.items(), key=lambda item: _score(item[1]), reverse=True)
        limit = top_k or self.top_k
        return {
            "documents": [
                replace(passage, id=source_id, meta={**passage.meta, "passage_id": passage.id})
                for source_id, passage in ranked[:limit]
            ]
        }


def _score(document: Document) -> float:
    return document.score if document.score is not None else float("-inf")
