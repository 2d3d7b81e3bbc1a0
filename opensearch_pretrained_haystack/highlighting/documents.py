"""
How a document carries its semantic highlights, whoever computed them.

A highlighter component, locally or in the cluster, or a search hit's semantic highlight.

Its meta gains ``semantic_highlights``: the selected sentences in order, each ``{"text", "start", "end",
"position"}`` (``content[start:end]`` is the sentence's piece, in Python string indices; ``position`` is the
sentence's index in ML Commons' segmentation), and ``semantic_highlight``: their texts joined, " … " where
sentences were skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from haystack import Document

from opensearch_pretrained_haystack.highlighting.sentences import Sentence

HIGHLIGHTS_KEY = "semantic_highlights"
SNIPPET_KEY = "semantic_highlight"


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


def with_highlights(document: Document, sentences: Sequence[Sentence]) -> Document:
    """A new Document: `document` with `sentences` as its highlights."""
    return replace(document, meta={**document.meta, **highlight_meta(sentences)})
