"""
What the local and the cluster reranker share: parameters, text preparation and turning logits into a ranking.

Both must build the same (query, document) strings and rank the same way, or their results would differ for
reasons that have nothing to do with the model.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from haystack import Document

from opensearch_pretrained_haystack.text_preparation import (
    prepare_document_text,
    prepare_text,
)

logger = logging.getLogger(__name__)


class RankingParameters:
    """The Haystack ranker parameters (as ``SentenceTransformersSimilarityRanker`` names them), checked once."""

    def __init__(
        self,
        top_k: int,
        query_prefix: str,
        query_suffix: str,
        document_prefix: str,
        document_suffix: str,
        meta_fields_to_embed: list[str] | None,
        embedding_separator: str,
        scale_score: bool,
        score_threshold: float | None,
        batch_size: int,
    ) -> None:
        _check_top_k(top_k)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.top_k = top_k
        self.query_prefix = query_prefix
        self.query_suffix = query_suffix
        self.document_prefix = document_prefix
        self.document_suffix = document_suffix
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self.scale_score = scale_score
        self.score_threshold = _checked_threshold(score_threshold)
        self.batch_size = batch_size

    def _prepare(self, query: Any, documents: Any, top_k: int | None) -> PreparedRanking:
        """Check the run's input and build the query and document strings (documents without content aside)."""
        component = type(self).__name__
        if not isinstance(query, str):
            raise TypeError(f"{component} expects the query as a string, got {type(query).__name__}.")
        if not isinstance(documents, list) or any(not isinstance(doc, Document) for doc in documents):
            raise TypeError(f"{component} expects a list of Documents to rank.")
        if top_k is not None:
            _check_top_k(top_k)
        scored = [i for i, doc in enumerate(documents) if doc.content]
        unscored = [i for i, doc in enumerate(documents) if not doc.content]
        if unscored:
            ids = ", ".join(documents[i].id for i in unscored[:10]) + (", ..." if len(unscored) > 10 else "")
            logger.warning(
                "%s: %d document(s) have no content to rank; they are returned last, without a score: %s",
                component,
                len(unscored),
                ids,
            )
        texts = [
            prepare_document_text(
                documents[i],
                prefix=self.document_prefix,
                suffix=self.document_suffix,
                meta_fields_to_embed=self.meta_fields_to_embed,
                embedding_separator=self.embedding_separator,
            )
            for i in scored
        ]
        query_text = prepare_text(query, self.query_prefix, self.query_suffix)
        _require_text(query_text, f"{component}: the query")
        for i, text in zip(scored, texts, strict=True):
            _require_text(text, f"{component}: document {documents[i].id}")
        return PreparedRanking(query_text, texts, scored, unscored)

    def _ranked(
        self,
        documents: list[Document],
        prepared: PreparedRanking,
        logits: np.ndarray,
        *,
        top_k: int | None,
        scale_score: bool | None,
        score_threshold: float | None,
    ) -> dict[str, list[Document]]:
        """New documents best first, cut by ``score_threshold`` and ``top_k``; then those without content."""
        scale = self.scale_score if scale_score is None else scale_score
        threshold = self.score_threshold if score_threshold is None else _checked_threshold(score_threshold)
        limit = self.top_k if top_k is None else top_k
        scores = _sigmoid(logits) if scale else logits.astype(np.float64)
        order = sorted(range(len(prepared.scored)), key=lambda k: -scores[k])  # stable: ties keep input order
        ranked = [replace(documents[prepared.scored[k]], score=float(scores[k])) for k in order]
        if threshold is not None:
            ranked = [doc for doc in ranked if doc.score is not None and doc.score >= threshold]
        unscored = [replace(documents[i], score=None) for i in prepared.unscored]
        return {"documents": ranked[:limit] + unscored}


@dataclass(frozen=True)
class PreparedRanking:
    """The strings a run sends to the model, and where each document goes."""

    query: str
    texts: list[str]
    scored: list[int]
    """Positions of the documents with content, in the order of ``texts``."""
    unscored: list[int]
    """Positions of the documents without content: returned last, unscored, never dropped."""


def _check_top_k(top_k: int) -> None:
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}.")


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def _checked_threshold(score_threshold: float | None) -> float | None:
    if score_threshold is not None and math.isnan(score_threshold):
        raise ValueError("score_threshold is NaN, which no score reaches: give a number, or None to keep every score.")
    return score_threshold


def _require_text(text: str, what: str) -> None:
    """
    Refuse a lone surrogate with what holds it, instead of the tokenizer's own error.

    ``"\\ud800"`` can be in a Python string, but it is not text: no tokenizer, file or cluster takes it.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{what} holds a lone surrogate \\u{ord(text[error.start]):04x} at character {error.start}, which is "
            "not text."
        ) from None
