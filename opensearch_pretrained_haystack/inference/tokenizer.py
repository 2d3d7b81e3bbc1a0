"""
The artifact's own tokenizer, set up the way ML Commons (DJL's HuggingFaceTokenizer) sets it up.

One ``Tokenizer`` is parsed per artifact and shared (``shared_tokenizer``): kept without truncation, so the
splitter can count whole texts, while ``ModelTokenizer.encode_batch`` truncates exactly as the tokenizer's own
``enable_truncation`` would (cut the text's tokens to the limit minus the special tokens, then add them) and
keeps only the ids the model reads (``TokenIds``), not the tokenizer's ``Encoding`` objects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from opensearch_pretrained_haystack.artifacts import Lease, ModelArtifact, loaded_artifacts
from opensearch_pretrained_haystack.errors import ArtifactFormatError

# DJL >= 0.28 (ML Commons >= 2.15) falls back to model_max_length, whose default is 512.
DEFAULT_MODEL_MAX_LENGTH = 512

# Texts tokenized at once: an untruncated ``Encoding`` costs ~100 bytes a token (strings, offsets, overflow),
# so a whole corpus of them at once held tens of MB more than the model ever reads.
ENCODE_CHUNK = 256


@dataclass(frozen=True, slots=True)
class TokenIds:
    """One text as the model reads it: token ids and token type ids (int64, special tokens included)."""

    ids: np.ndarray
    type_ids: np.ndarray


def truncation_length(tokenizer_json: dict[str, Any], model_config: dict[str, Any]) -> int:
    """
    The token limit ML Commons applies.

    ``truncation.max_length``, else a ``Fixed`` padding length, else ``model_config.model_max_length``, else 512 (capped
    at ``model_max_length`` as DJL does).
    """
    cap = int(model_config.get("model_max_length") or DEFAULT_MODEL_MAX_LENGTH)
    truncation = tokenizer_json.get("truncation") or {}
    if truncation.get("max_length"):
        return min(int(truncation["max_length"]), cap)
    strategy = (tokenizer_json.get("padding") or {}).get("strategy")
    if isinstance(strategy, dict) and strategy.get("Fixed"):
        return min(int(strategy["Fixed"]), cap)
    return cap


@dataclass(frozen=True)
class ModelTokenizer:
    """An artifact's tokenizer (no truncation, no padding) and the token limit the cluster applies."""

    tokenizer: Tokenizer
    max_tokens: int
    """The limit, special tokens included."""

    @property
    def special_tokens(self) -> int:
        """Special tokens added to one text ([CLS], [SEP], ...)."""
        return int(self.tokenizer.num_special_tokens_to_add(False))

    def encode_batch(self, texts: Sequence[str]) -> list[TokenIds]:
        """
        What the model sees for each text: truncated as the cluster truncates, with special tokens.

        The ids and type ids equal the tokenizer's own truncating ``encode_batch`` (checked on every test
        tokenizer); texts are tokenized ``ENCODE_CHUNK`` at a time, so memory follows the model's input only.
        """
        room = self.max_tokens - self.special_tokens
        result: list[TokenIds] = []
        for start in range(0, len(texts), ENCODE_CHUNK):
            chunk = list(texts[start : start + ENCODE_CHUNK])
            for encoding in self.tokenizer.encode_batch(chunk, add_special_tokens=False):
                if len(encoding.ids) > room:
                    encoding.truncate(room)  # LongestFirst of one sequence, stride 0, right: as the files and DJL
                final = self.tokenizer.post_process(encoding)
                result.append(TokenIds(np.array(final.ids, np.int64), np.array(final.type_ids, np.int64)))
        return result


def load_tokenizer(artifact: ModelArtifact) -> ModelTokenizer:
    """Parse the artifact's ``tokenizer.json`` and work out its limit (use ``shared_tokenizer`` to share it)."""
    path = artifact.extract().tokenizer_file
    try:
        text = path.read_text("utf-8")
        tokenizer = Tokenizer.from_str(text)
        limit = truncation_length(json.loads(text), artifact.model_config)
    except Exception as error:  # the tokenizers library raises plain Exceptions for a malformed file
        raise ArtifactFormatError(f"{artifact.zip_path}: its tokenizer.json cannot be read ({error}).") from error
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return ModelTokenizer(tokenizer, limit)


def shared_tokenizer(artifact: ModelArtifact) -> Lease[ModelTokenizer]:
    """The process's one ``ModelTokenizer`` of this artifact; release the lease when done."""
    return loaded_artifacts.acquire("tokenizer", artifact, load_tokenizer)
