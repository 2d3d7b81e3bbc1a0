"""
Semantic sentence highlighting (ML Commons' QUESTION_ANSWERING with ``model_type`` sentence_highlighting).

Source: `../shared/docs/semantic-highlighter.md` §1 and §3. The artifact's config.json names the task in
`function_name` (QUESTION_ANSWERING) and has no `model_task_type`; `model_config.model_type` sentence_highlighting
selects ML Commons' `SentenceHighlightingQATranslator` (any other type selects extractive question answering).
The translator exists from ML Commons 3.0.0.0; 2.x has no sentence highlighting. TorchScript only (no ONNX graph);
locally ``TorchScriptHighlighter``, in the cluster one ``_predict`` per (question, context) pair.
"""

from __future__ import annotations

from typing import Any

from opensearch_pretrained_haystack.families.family import Family

MODEL_TYPE = "sentence_highlighting"
MINIMUM_VERSION = (3, 0, 0)
MAX_TOKENS = 512
"""Tokens per chunk, question and special tokens included (the translator's `optMaxLength`)."""
STRIDE = 128
"""Context tokens two consecutive chunks share (the translator's `optStride`)."""

FAMILY = Family(
    task_type="QUESTION_ANSWERING",
    label="sentence highlighter",
    onnx_inputs=None,
    local_runner="opensearch_pretrained_haystack.highlighting.local:TorchScriptHighlighter",
    predict_call="opensearch_pretrained_haystack.highlighting.remote:predict_highlights",
)


def is_sentence_highlighter(task_type: str, model_type: str) -> bool:
    """Whether an ML Commons function name and `model_config.model_type` describe a sentence highlighter."""
    return task_type.upper() == FAMILY.task_type and model_type.lower() == MODEL_TYPE


def config_is_sentence_highlighter(config: dict[str, Any]) -> bool:
    """Whether an artifact's config.json describes a sentence highlighter."""
    task = str(config.get("model_task_type") or config.get("function_name") or "")
    model_type = str((config.get("model_config") or {}).get("model_type") or "")
    return is_sentence_highlighter(task, model_type)


def server_refusal(version: tuple[int, int, int], name: str) -> str | None:
    """Why an OpenSearch of this version cannot run the highlighter `name` (None: it can), in one line."""
    if version >= MINIMUM_VERSION:
        return None
    here, needed = ".".join(map(str, version)), ".".join(map(str, MINIMUM_VERSION))
    return (
        f"OpenSearch {here} cannot run {name}: sentence highlighting (ML Commons QUESTION_ANSWERING with model_type "
        f"{MODEL_TYPE}) needs OpenSearch {needed} or newer. Upgrade the cluster, or highlight locally with "
        "LocalSemanticHighlighter."
    )
