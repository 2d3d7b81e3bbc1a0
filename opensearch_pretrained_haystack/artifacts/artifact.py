"""``ModelArtifact``: a model zip whose bytes matched its ``config.json``, the object the other layers pass on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opensearch_pretrained_haystack.artifacts.unpack import ExtractedModel, extract_model


@dataclass(frozen=True)
class ModelArtifact:
    """A model zip whose bytes matched its ``config.json``, with that config."""

    zip_path: Path
    config: dict[str, Any]
    model_format: str
    sha256: str
    size: int
    cache_dir: Path

    @property
    def model_config(self) -> dict[str, Any]:
        """``config.json``'s ``model_config`` block: what ML Commons needs to register and run the model."""
        return dict(self.config.get("model_config") or {})

    @property
    def query_prefix(self) -> str | None:
        """``model_config.query_prefix`` of an asymmetric model (ML Commons 2.13+ puts it before each query)."""
        return self.model_config.get("query_prefix")

    @property
    def passage_prefix(self) -> str | None:
        """``model_config.passage_prefix`` of an asymmetric model (put before each passage)."""
        return self.model_config.get("passage_prefix")

    @property
    def model_type(self) -> str:
        """``model_config.model_type``, lower-cased: it decides the inputs ML Commons sends."""
        return str(self.model_config.get("model_type") or "").lower()

    @property
    def task_type(self) -> str:
        """ML Commons' function name: TEXT_EMBEDDING (default), TEXT_SIMILARITY, SPARSE_ENCODING, SPARSE_TOKENIZE."""
        return str(self.config.get("model_task_type") or self.config.get("function_name") or "TEXT_EMBEDDING").upper()

    @property
    def name(self) -> str:
        """The model's name in ``config.json``, else the zip's name."""
        return str(self.config.get("name") or self.zip_path.stem)

    @property
    def version(self) -> str:
        """The model's version in ``config.json``, else ""."""
        return str(self.config.get("version") or "")

    def extract(self) -> ExtractedModel:
        """
        The model file and ``tokenizer.json``, unpacked once into the cache (keyed by the zip's hash).

        They are checked against what was unpacked at every call; a damaged copy is unpacked again.
        """
        return extract_model(self.zip_path, self.cache_dir / "extracted" / self.sha256[:24])
