"""
What both semantic highlighters share: which documents are highlighted, and how the answer goes into them.

Each highlighted document is a new object whose meta gains the highlights (see `highlighting.documents`). A
document without content (None or "") comes back unchanged and is counted; one holding only whitespace has no
sentence, so its answer is empty without asking the model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from haystack import Document

from opensearch_pretrained_haystack.highlighting.documents import with_highlights
from opensearch_pretrained_haystack.highlighting.sentences import JAVA_TRIM, Sentence
from opensearch_pretrained_haystack.text_preparation import (
    check_documents,
    has_content,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HighlightInput:
    """A checked input: the documents, and the positions of those the model must read."""

    query: str
    documents: list[Document]
    positions: list[int]
    without_content: int

    @property
    def contexts(self) -> list[str]:
        """The contents the model reads, in `positions` order."""
        return [self.documents[i].content or "" for i in self.positions]


def prepare(component: str, sibling: str, query: Any, documents: Any) -> HighlightInput:
    """Check the input and set aside documents without content (one warning names them) or without a sentence."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"{component} needs a non-empty query string, got {query!r}.")
    check_documents(component, sibling, documents)
    without = [doc.id for doc in documents if not has_content(doc)]
    if without:
        ids = ", ".join(without[:10]) + (", ..." if len(without) > 10 else "")
        logger.warning("%s: %d document(s) have no content and are kept unchanged: %s", component, len(without), ids)
    positions = [i for i, doc in enumerate(documents) if has_content(doc) and (doc.content or "").strip(JAVA_TRIM)]
    return HighlightInput(query, documents, positions, len(without))


def output(prepared: HighlightInput, answers: Mapping[int, Sequence[Sentence]], meta: dict[str, Any]) -> dict[str, Any]:
    """
    New Document objects with the answers in their meta.

    Documents without content, and those in `positions` without an answer (failed), come back unchanged and counted;
    none is dropped.
    """
    failed = {i for i in prepared.positions if i not in answers}
    documents = [
        doc if not has_content(doc) or i in failed else with_highlights(doc, answers.get(i, []))
        for i, doc in enumerate(prepared.documents)
    ]
    counts = {
        "documents_highlighted": len(documents) - prepared.without_content - len(failed),
        "documents_failed": len(failed),
        "documents_without_content": prepared.without_content,
    }
    return {"documents": documents, "meta": {**meta, **counts}}
