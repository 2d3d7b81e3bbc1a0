"""
The catalog of OpenSearch's pretrained models.

Sentence transformers (dense), cross-encoders, neural sparse and the semantic sentence highlighter.

The facts live in ``data/catalog.json``; this module only turns them into frozen objects and answers
look-ups, so that every other part of the package (artifact URLs, index dimensions, pooling) reads the
same truth instead of a number typed by hand.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from opensearch_pretrained_haystack.errors import UnknownModelError

if TYPE_CHECKING:
    from opensearch_pretrained_haystack.families import Family

ModelFormat = Literal["ONNX", "TORCH_SCRIPT"]
MODEL_FORMATS: tuple[ModelFormat, ...] = ("ONNX", "TORCH_SCRIPT")


@dataclass(frozen=True)
class PretrainedModel:
    """One published version of one pretrained model."""

    name: str
    alias: str
    version: str
    formats: tuple[ModelFormat, ...]
    dimension: int
    pooling_mode: str
    normalize: bool
    max_tokens: int
    space_type: str
    model_type: str
    artifacts_base_url: str
    task_type: str = "TEXT_EMBEDDING"
    """ML Commons' function name: TEXT_EMBEDDING; TEXT_SIMILARITY for cross-encoders; SPARSE_ENCODING or
    SPARSE_TOKENIZE for neural sparse; QUESTION_ANSWERING for the sentence highlighter."""
    role: str = "bi-encoder"
    """bi-encoder, document-encoder (documents only), query-tokenizer or sentence-highlighter."""
    search_with: str | None = None
    """Sparse: alias of the model that encodes queries for an index this model fills."""
    vocabulary: str | None = None
    """Sparse: alias whose tokenizer.json maps tokens to ``SparseEmbedding.indices``."""
    recommended: bool = False
    minimum_opensearch: str | None = None
    """The oldest OpenSearch whose ML Commons runs the model (the highlighter: 3.0.0); None: every supported one."""

    @property
    def family(self) -> str:
        """
        The ``<family>`` part of the name.

        "sentence-transformers" (embedders), "cross-encoders" (rerankers), "neural-sparse" (sparse encoders and
        tokenizers) or "sentence-highlighting" (the semantic highlighter); only embedders have a ``dimension`` (the
        others' is 0: no dense vector).
        """
        return self.name.split("/")[1]

    @property
    def model_family(self) -> Family:
        """The rules of the model's family (``families``), looked up by its ``task_type``."""
        from opensearch_pretrained_haystack.families import family_of

        return family_of(self.task_type)

    def artifact_path(self, model_format: str) -> str:
        """The artifact's path below the artifacts base URL, by ML Commons' own rule (``MLEngine``)."""
        fmt = self._checked_format(model_format).lower()
        file_stem = self.name.split("/", 1)[1].replace("/", "_")
        return f"{self.name}/{self.version}/{fmt}/{file_stem}-{self.version}-{fmt}.zip"

    def config_path(self, model_format: str) -> str:
        """The path of the ``config.json`` published beside the artifact."""
        fmt = self._checked_format(model_format).lower()
        return f"{self.name}/{self.version}/{fmt}/config.json"

    def artifact_url(self, model_format: str) -> str:
        """The official download URL of the model zip in ``model_format``."""
        return f"{self.artifacts_base_url}/{self.artifact_path(model_format)}"

    def config_url(self, model_format: str) -> str:
        """The official URL of the ``config.json`` that describes the zip."""
        return f"{self.artifacts_base_url}/{self.config_path(model_format)}"

    def _checked_format(self, model_format: str) -> ModelFormat:
        fmt = model_format.upper()
        if fmt not in MODEL_FORMATS:
            raise ValueError(f"Unknown model format {model_format!r}: use one of {', '.join(MODEL_FORMATS)}.")
        if fmt not in self.formats:
            raise UnknownModelError(
                f"{self.name} {self.version} is published only as {', '.join(self.formats)}, not {fmt}."
            )
        return fmt


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@cache
def _load() -> tuple[PretrainedModel, ...]:
    raw: dict[str, Any] = json.loads(
        resources.files("opensearch_pretrained_haystack").joinpath("data/catalog.json").read_text("utf-8")
    )
    models = []
    for entry in raw["models"]:
        for version, published in sorted(entry["versions"].items(), key=lambda item: _version_key(item[0])):
            models.append(
                PretrainedModel(
                    name=entry["name"],
                    alias=entry["name"].rsplit("/", 1)[1],
                    version=version,
                    formats=tuple(published["formats"]),
                    dimension=entry.get("dimension", 0),
                    # Cross-encoders and sparse models neither pool nor normalize, nor index dense vectors.
                    pooling_mode=entry.get("pooling_mode", "NONE"),
                    normalize=entry.get("normalize", False),
                    max_tokens=entry["max_tokens"],
                    space_type=entry.get("space_type", ""),
                    model_type=entry.get("model_type", ""),
                    artifacts_base_url=raw["artifacts_base_url"],
                    task_type=entry.get("task_type", "TEXT_EMBEDDING"),
                    role=entry.get("role", "bi-encoder"),
                    search_with=entry.get("search_with"),
                    vocabulary=entry.get("vocabulary"),
                    recommended=entry.get("recommended", False),
                    minimum_opensearch=entry.get("minimum_opensearch"),
                )
            )
    return tuple(models)


def list_models() -> list[PretrainedModel]:
    """Every model version in the catalog, names in catalog order, versions oldest first."""
    return list(_load())


def get_model(name: str, version: str | None = None) -> PretrainedModel:
    """
    Look a model up by full name or alias (case-insensitive); ``version=None`` gives the newest.

    An unknown name raises ``UnknownModelError`` naming the closest catalog names, so a typo is a one-step fix.
    """
    wanted = name.strip().lower()
    matches = [m for m in _load() if wanted in (m.name.lower(), m.alias.lower())]
    if not matches:
        known = sorted({m.alias for m in _load()} | {m.name for m in _load()})
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5) or sorted({m.alias for m in _load()})
        raise UnknownModelError(f"No pretrained model named {name!r}. Did you mean: {', '.join(close)}?")
    if version is None:
        return max(matches, key=lambda m: _version_key(m.version))
    for model in matches:
        if model.version == version:
            return model
    versions = ", ".join(m.version for m in matches)
    raise UnknownModelError(f"{matches[0].name} has no version {version!r}; published versions: {versions}.")
