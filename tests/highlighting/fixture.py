"""The tiny semantic highlighter fixture: its artifact, the 20 pairs and what a real 3.6.0 node answered."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.conftest import TESTING

HIGHLIGHTER_DIR = TESTING / "tiny-semantic-highlighter"
CORRUPTED = {"abbreviations", "many-abbreviations", "acronyms-initials"}
"""Pairs the node answers with ML Commons' abbreviation rewrite in a selected sentence ("@@@", shifted offsets)."""
NODE_FAILS = {"whitespace-only-context": 500, "long-cjk-no-spaces": 500, "empty-context": 400}


@cache
def references() -> list[dict[str, Any]]:
    """Per pair: question, context, name, and the node's status and body."""
    pairs: list[dict[str, Any]] = json.loads((HIGHLIGHTER_DIR / "references.json").read_text("utf-8"))["pairs"]
    return pairs


def node_check() -> dict[str, Any]:
    """The node's register, deploy and search records (`node_check.json`)."""
    checked: dict[str, Any] = json.loads((HIGHLIGHTER_DIR / "node_check.json").read_text("utf-8"))
    return checked


def answered() -> list[dict[str, Any]]:
    """The pairs the node answered with HTTP 200."""
    return [pair for pair in references() if pair["node"]["status"] == 200]


@cache
def deployed_highlighter(opensearch_url: str) -> str:
    """Model id of the tiny highlighter, uploaded from this machine (reused if already there)."""
    from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
        PretrainedModelUploader,
    )

    uploader = PretrainedModelUploader(
        opensearch_url, str(HIGHLIGHTER_DIR), model_format="TORCH_SCRIPT", source="client"
    )
    return str(uploader.run()["model_id"])


def server_version(opensearch_url: str) -> tuple[int, int, int]:
    """The test node's OpenSearch version."""
    from opensearchpy import OpenSearch

    from opensearch_pretrained_haystack.cluster import MLCommonsClient

    return MLCommonsClient(OpenSearch(opensearch_url)).server_profile().version
