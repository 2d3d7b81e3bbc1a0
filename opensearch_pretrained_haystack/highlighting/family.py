"""The semantic sentence highlighter family: how ML Commons knows the model, and which servers run it.

Source: `../shared/docs/semantic-highlighter.md` §1 and §3. The artifact's config.json names the task in
`function_name` (QUESTION_ANSWERING) and has no `model_task_type`; `model_config.model_type` sentence_highlighting
selects ML Commons' `SentenceHighlightingQATranslator` (any other type selects extractive question answering).
The translator exists from ML Commons 3.0.0.0; 2.x has no sentence highlighting.
"""

from __future__ import annotations

from typing import Any

from opensearch_pretrained_haystack.cluster.versions import ServerProfile, version_text

FUNCTION_NAME = "QUESTION_ANSWERING"
MODEL_TYPE = "sentence_highlighting"
MINIMUM_VERSION = (3, 0, 0)
MAX_TOKENS = 512
"""Tokens per chunk, question and special tokens included (the translator's `optMaxLength`)."""
STRIDE = 128
"""Context tokens two consecutive chunks share (the translator's `optStride`)."""


def is_sentence_highlighter(task_type: str, model_type: str) -> bool:
    """Whether an ML Commons function name and `model_config.model_type` describe a sentence highlighter."""
    return task_type.upper() == FUNCTION_NAME and model_type.lower() == MODEL_TYPE


def config_is_sentence_highlighter(config: dict[str, Any]) -> bool:
    """Whether an artifact's config.json describes a sentence highlighter."""
    task = str(config.get("model_task_type") or config.get("function_name") or "")
    model_type = str((config.get("model_config") or {}).get("model_type") or "")
    return is_sentence_highlighter(task, model_type)


def server_refusal(profile: ServerProfile, name: str) -> str | None:
    """Why this server cannot run the highlighter `name` (None: it can), in one line that says what to do."""
    if profile.version >= MINIMUM_VERSION:
        return None
    return (
        f"OpenSearch {version_text(profile.version)} cannot run {name}: sentence highlighting (ML Commons "
        f"QUESTION_ANSWERING with model_type {MODEL_TYPE}) needs OpenSearch {version_text(MINIMUM_VERSION)} or newer. "
        "Upgrade the cluster, or highlight locally with LocalSemanticHighlighter."
    )
