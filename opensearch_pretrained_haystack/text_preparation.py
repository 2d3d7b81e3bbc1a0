"""
What every embedder pair of this package shares.

Input checks, text preparation, returning documents with their counts, and the content rule (``has_content``) that the
splitter and the batch job follow too.

Local and cluster embedders must turn the same document into the same string, or their vectors would differ
for reasons that have nothing to do with the model; so both use these functions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from haystack import Document

logger = logging.getLogger(__name__)


def check_text(component: str, sibling: str, text: Any) -> None:
    """
    A text embedder takes one string of text (no lone surrogate); say which component takes documents instead.
    """
    if not isinstance(text, str):
        raise TypeError(
            f"{component} expects a string as input, got {type(text).__name__}. "
            f"In case you want to embed a list of Documents, please use the {sibling}."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{component}: the text holds a lone surrogate \\u{ord(text[error.start]):04x} at character "
            f"{error.start}, which is not text (no tokenizer or cluster can read it); remove or replace it."
        ) from None


def check_documents(component: str, sibling: str, documents: Any) -> None:
    """A document embedder takes a list of Documents; say which component takes a string instead."""
    if not isinstance(documents, list) or any(not isinstance(doc, Document) for doc in documents):
        raise TypeError(
            f"{component} expects a list of Documents as input. "
            f"In case you want to embed a string, please use the {sibling}."
        )


def prepare_text(text: str, prefix: str, suffix: str) -> str:
    """
    ``text`` between ``prefix`` and ``suffix``.

    :param text: The text.
    :param prefix: What goes before it.
    :param suffix: What goes after it.
    :returns: The text to embed.
    """
    return f"{prefix}{text}{suffix}"


def prepare_document_text(
    document: Document, *, prefix: str, suffix: str, meta_fields_to_embed: Sequence[str], embedding_separator: str
) -> str:
    """Meta values (present and not None), then the content, joined by the separator, inside prefix and suffix."""
    meta_values = [str(document.meta[key]) for key in meta_fields_to_embed if document.meta.get(key) is not None]
    return prepare_text(embedding_separator.join([*meta_values, document.content or ""]), prefix, suffix)


def has_content(document: Document) -> bool:
    """
    The content rule of every indexing step.

    A document whose content is None or "" has none (whitespace is content, as the cluster embeds it;
    ``DocumentCleaner`` turns whitespace-only text into ""). Such a document is returned (by the splitter as its one
    passage, by the embedders unchanged), counted, and never dropped.
    """
    return bool(document.content)


def source_label(document: Document) -> str:
    """
    How a message names a document.

    Its file, else the id of its source (a passage), else its own id, so a document and its passages are named alike by
    every step.
    """
    return str(document.meta.get("file_path") or document.meta.get("source_id") or document.id)


def split_by_content(component: str, documents: list[Document]) -> tuple[list[int], list[int]]:
    """
    Positions of documents with content, and of documents without (see ``has_content``).

    One warning names the documents without content, so a batch never fails, and never silently loses one, over
    an empty document.
    """
    with_content = [i for i, doc in enumerate(documents) if has_content(doc)]
    without = [i for i, doc in enumerate(documents) if not has_content(doc)]
    if without:
        ids = ", ".join(source_label(documents[i]) for i in without[:10]) + (", ..." if len(without) > 10 else "")
        logger.warning(
            "%s: %d document(s) have no content and are kept, without an embedding: %s", component, len(without), ids
        )
    return with_content, without


@dataclass(frozen=True)
class PreparedDocuments:
    """A document embedder's input, checked: the documents, the positions of those with content, and their texts."""

    documents: list[Document]
    positions: list[int]
    texts: list[str]

    def output(
        self, embeddings: dict[int, Any], meta: dict[str, Any], *, field: str = "embedding", failed: int | None = None
    ) -> dict[str, Any]:
        """
        The embedder's result.

        New Document objects with ``field`` set where an embedding was made (the others, such as those without content,
        unchanged), and ``meta`` with the counts; the caller's documents are never mutated and none is dropped.
        ``failed`` (documents of failed batches) is counted where batches can fail.
        """
        documents = [
            replace(doc, **{field: embeddings[i]}) if i in embeddings else doc for i, doc in enumerate(self.documents)
        ]
        counts = {"documents_embedded": len(embeddings)}
        if failed is not None:
            counts["documents_failed"] = failed
        counts["documents_without_content"] = len(self.documents) - len(self.positions)
        return {"documents": documents, "meta": {**meta, **counts}}


class DocumentTextParameters(Protocol):
    """The Haystack document-embedder parameters that make a document's text."""

    @property
    def prefix(self) -> str | None:
        """The embedder's own prefix (None: the model's passage prefix)."""

    suffix: str
    meta_fields_to_embed: list[str]
    embedding_separator: str


def prepare_documents(
    embedder: DocumentTextParameters, sibling: str, documents: list[Document], *, prefix: str | None = None
) -> PreparedDocuments:
    """
    Check the input and prepare the text of each document with content.

    Check the input (see ``check_documents``), set the documents without content aside (see ``split_by_content``) and
    prepare the text of each other one with the embedder's parameters (see ``prepare_document_text``); ``prefix``, when
    given, replaces the embedder's (the model's own passage prefix).
    """
    component = type(embedder).__name__
    check_documents(component, sibling, documents)
    positions, _ = split_by_content(component, documents)
    texts = [
        prepare_document_text(
            documents[i],
            prefix=prefix if prefix is not None else embedder.prefix or "",
            suffix=embedder.suffix,
            meta_fields_to_embed=embedder.meta_fields_to_embed,
            embedding_separator=embedder.embedding_separator,
        )
        for i in positions
    ]
    return PreparedDocuments(documents, positions, texts)
