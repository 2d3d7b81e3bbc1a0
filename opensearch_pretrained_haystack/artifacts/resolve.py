"""
The one place that turns what a user names (a catalog model, a directory, a zip) into a verified artifact.

Resolutions are remembered for the process: a splitter and an embedder of the same model share one
``ModelArtifact`` and a custom zip is hashed once, as long as the zip on disk keeps its size and mtime.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Union

from opensearch_pretrained_haystack.artifacts.artifact import ModelArtifact
from opensearch_pretrained_haystack.artifacts.fetch import (
    default_cache_dir,
    fetch_artifact,
    load_artifact,
    load_model_dir,
)
from opensearch_pretrained_haystack.artifacts.verify import file_stamp
from opensearch_pretrained_haystack.catalog import PretrainedModel

ModelSource = Union[str, "os.PathLike[str]", PretrainedModel, ModelArtifact]
"""A catalog name or alias, a ``PretrainedModel``, a directory with a model zip and its config.json, a zip, or an
artifact already resolved."""

_lock = threading.Lock()
_resolved: dict[tuple[str, ...], tuple[dict[str, int], ModelArtifact]] = {}


def resolve_artifact(
    model: ModelSource,
    version: str | None = None,
    *,
    model_format: str = "ONNX",
    mirror: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress_bar: bool = True,
) -> ModelArtifact:
    """The verified artifact for ``model``, fetched or loaded on first use in this process."""
    if isinstance(model, ModelArtifact):
        return model
    root = str(Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir())
    key = (repr(model), str(version), model_format.upper(), root)
    with _lock:
        known = _resolved.get(key)
    if known is not None and _unchanged(known):
        return known[1]
    artifact = _resolve(model, version, model_format, mirror, cache_dir, progress_bar)
    with _lock:
        _resolved[key] = (file_stamp(artifact.zip_path), artifact)
    return artifact


def _resolve(
    model: str | os.PathLike[str] | PretrainedModel,
    version: str | None,
    model_format: str,
    mirror: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    progress_bar: bool,
) -> ModelArtifact:
    if isinstance(model, PretrainedModel):
        return fetch_artifact(
            model, model_format=model_format, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar
        )
    path = Path(model).expanduser()
    if path.is_dir():
        return load_model_dir(path, cache_dir=cache_dir)
    if path.suffix == ".zip" and path.is_file():
        return load_artifact(path, cache_dir=cache_dir)
    return fetch_artifact(
        str(model), version, model_format, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar
    )


def _unchanged(known: tuple[dict[str, int], ModelArtifact]) -> bool:
    stamp, artifact = known
    try:
        return file_stamp(artifact.zip_path) == stamp
    except OSError:
        return False
