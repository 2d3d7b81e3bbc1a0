"""The artifact's own tokenizer, set up the way ML Commons (DJL's HuggingFaceTokenizer) sets it up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

# DJL >= 0.28 (ML Commons >= 2.15) falls back to model_max_length, whose default is 512.
DEFAULT_MODEL_MAX_LENGTH = 512


def truncation_length(tokenizer_json: dict[str, Any], model_config: dict[str, Any]) -> int:
    """The token limit ML Commons applies: ``truncation.max_length``, else a ``Fixed`` padding length, else
    ``model_config.model_max_length``, else 512 (capped at ``model_max_length`` as DJL does)."""
    cap = int(model_config.get("model_max_length") or DEFAULT_MODEL_MAX_LENGTH)
    truncation = tokenizer_json.get("truncation") or {}
    if truncation.get("max_length"):
        return min(int(truncation["max_length"]), cap)
    strategy = (tokenizer_json.get("padding") or {}).get("strategy")
    if isinstance(strategy, dict) and strategy.get("Fixed"):
        return min(int(strategy["Fixed"]), cap)
    return cap


def load_tokenizer(tokenizer_file: Path, model_config: dict[str, Any]) -> tuple[Tokenizer, int]:
    """Load ``tokenizer.json`` with the cluster's truncation and no padding (batches are padded by the caller).

    Returns the tokenizer and its token limit.
    """
    max_length = truncation_length(json.loads(tokenizer_file.read_text("utf-8")), model_config)
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)  # LongestFirst, stride 0, right: what the files and DJL use
    return tokenizer, max_length
