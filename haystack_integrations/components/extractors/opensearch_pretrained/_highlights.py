"""What both semantic highlighters share: which documents are highlighted, and how the answer goes into them.

Each highlighted document is a new object whose meta gains ``semantic_highlights`` (the selected sentences in
order, each ``{"text", "start", "end", "position"}``: ``content[start:end]`` is the sentence's piece, Python string
indices; ``position`` is the sentence's index in ML Commons' segmentation) and ``semantic_highlight`` (their texts
joined, " … " where sentences were skipped). A document without content (None or "") comes back unchanged and is
counted; one holding only whitespace has no sentence, so its answer is empty without asking the model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from haystack import Document

from haystack_integrations.components.embedders.opensearch_pretrained._text_preparation import (
    check_documents,
    has_content,
)
from opensearch_pretrained_haystack.highlighting.sentences import JAVA_TRIM, Sentence

logger = logging.getLogger(__name__)

HIGHLIGHTS_KEY = "semantic_highlights"
SNIPPET_KEY = "semantic_highlight"


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


def highlight_meta(sentences: Sequence[Sentence]) -> dict[str, Any]:
    """The meta entries of one document's answer."""
    parts: list[str] = []
    for before, sentence in zip([None, *sentences], sentences, strict=False):
        if before is not None:
            parts.append(" " if sentence.position == before.position + 1 else " … ")
        parts.append(sentence.text)
    return {
        HIGHLIGHTS_KEY: [{"text": s.text, "start": s.start, "end": s.end, "position": s.position} for s in sentences],
        SNIPPET_KEY: "".join(parts),
    }


def output(prepared: HighlightInput, answers: Mapping[int, Sequence[Sentence]], meta: dict[str, Any]) -> dict[str, Any]:
    """New Document objects with the answers in their meta; documents without content, and those in `positions`
    without an answer (failed), come back unchanged and counted; none is dropped."""
    failed = {i for i in prepared.positions if i not in answers}
    documents = [
        doc
        if not has_content(doc) or i in failed
        else replace(doc, meta={**doc.meta, **highlight_meta(answers.get(i, []))})
        for i, doc in enumerate(prepared.documents)
    ]
    counts = {
        "documents_highlighted": len(documents) - prepared.without_content - len(failed),
        "documents_failed": len(failed),
        "documents_without_content": prepared.without_content,
    }
    return {"documents": documents, "meta": {**meta, **counts}}


def _highlighted(document: Document, sentences: Sequence[Sentence]) -> Document:
    return replace(document, meta={**document.meta, **highlight_meta(sentences)})
