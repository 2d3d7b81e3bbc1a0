"""
Verified model artifacts from the catalog (downloaded or mirrored, then cached) or from a user's own files.

A file in the cache is trusted only after its size and SHA-256 matched the ``config.json`` published beside
it. Every write goes to a temporary name first and is renamed into place, so a crash or Ctrl-C never leaves a
file that a later run would trust.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

import platformdirs
from tqdm import tqdm

from opensearch_pretrained_haystack.artifacts.artifact import ModelArtifact
from opensearch_pretrained_haystack.artifacts.verify import (
    CHUNK,
    atomic_file,
    file_stamp,
    parse_config,
    read_config,
    read_json,
    verify_zip,
    write_json,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.errors import ArtifactDownloadError, ArtifactFormatError

CACHE_ENV = "OPENSEARCH_PRETRAINED_CACHE"
MIRROR_ENV = "OPENSEARCH_PRETRAINED_MIRROR"
_VERIFIED_STAMP = ".verified.json"


def default_cache_dir() -> Path:
    """``$OPENSEARCH_PRETRAINED_CACHE``, else the user's cache directory."""
    configured = os.environ.get(CACHE_ENV)
    return (
        Path(configured).expanduser()
        if configured
        else Path(platformdirs.user_cache_dir("opensearch-pretrained-haystack"))
    )


def artifacts_base_url(model: PretrainedModel, mirror: str | os.PathLike[str] | None = None) -> str:
    """
    Where to read artifacts from: ``mirror``, else ``$OPENSEARCH_PRETRAINED_MIRROR``, else the official site.

    A mirror is laid out like the official site (``<mirror>/models/ml-models/<name>/<version>/<format>/``) and may
    be a directory path or a ``file://``/``http(s)://`` URL.
    """
    chosen = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    if chosen is None:
        return model.artifacts_base_url
    chosen = str(chosen)
    if "://" not in chosen:
        chosen = Path(chosen).expanduser().resolve().as_uri()
    official_root = model.artifacts_base_url.split("/models/", 1)[1]  # "ml-models"
    return f"{chosen.rstrip('/')}/models/{official_root}"


def fetch_artifact(
    model: str | PretrainedModel,
    version: str | None = None,
    model_format: str = "ONNX",
    *,
    mirror: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress_bar: bool = True,
) -> ModelArtifact:
    """
    Return the verified artifact of a catalog model, downloading it only when the cache lacks it.

    A verified cache entry is used without touching the network, so a machine that downloaded once works offline.
    """
    entry = model if isinstance(model, PretrainedModel) else get_model(model, version)
    fmt = model_format.upper()
    entry.artifact_path(fmt)  # raises a clear error for a format this model is not published in
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = root / "models" / entry.name / entry.version / fmt.lower()
    zip_path = folder / PurePosixPath(entry.artifact_path(fmt)).name
    config_path = folder / "config.json"

    if zip_path.is_file() and config_path.is_file():
        config = read_config(config_path)
        if _stamp_matches(zip_path, config):
            return _artifact(zip_path, config, fmt, root)

    base = artifacts_base_url(entry, mirror)
    _require_in_local_mirror(base, entry, fmt)
    config_bytes = _read_url(f"{base}/{entry.config_path(fmt)}")
    config = parse_config(config_bytes, f"{base}/{entry.config_path(fmt)}")
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_file(zip_path) as partial:
        _download(f"{base}/{entry.artifact_path(fmt)}", partial, config, progress_bar)
        verify_zip(partial, config, source=f"{base}/{entry.artifact_path(fmt)}")
    with atomic_file(config_path) as partial:
        partial.write_bytes(config_bytes)
    _write_stamp(zip_path, config)
    return _artifact(zip_path, config, fmt, root)


def load_artifact(
    zip_path: str | os.PathLike[str],
    config_path: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ModelArtifact:
    """
    Open a custom model (e.g. a user's fine-tuned model) in the pretrained format: a zip and its config.json.

    The zip is checked against the config's size and SHA-256 when the config carries them.
    """
    zip_file = Path(zip_path).expanduser()
    config_file = Path(config_path).expanduser() if config_path else zip_file.with_name("config.json")
    if not zip_file.is_file():
        raise ArtifactDownloadError(f"No model zip at {zip_file}.")
    if not config_file.is_file():
        raise ArtifactDownloadError(
            f"No config.json at {config_file}: a model zip needs the config.json that describes it "
            "(model_config with model_type, embedding_dimension, pooling_mode, normalize_result)."
        )
    config = read_config(config_file)
    sha256 = verify_zip(zip_file, config, source=str(zip_file))
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    fmt = str(config.get("model_format") or "ONNX").upper()
    return ModelArtifact(zip_file, config, fmt, sha256, zip_file.stat().st_size, root)


def load_model_dir(
    directory: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
) -> ModelArtifact:
    """Open a directory that holds exactly one model zip and its ``config.json``."""
    folder = Path(directory).expanduser()
    zips = sorted(folder.glob("*.zip"))
    if len(zips) != 1:
        raise ArtifactFormatError(f"{folder} must hold exactly one model .zip beside config.json; found {len(zips)}.")
    return load_artifact(zips[0], folder / "config.json", cache_dir=cache_dir)


def _artifact(zip_path: Path, config: dict[str, Any], fmt: str, root: Path) -> ModelArtifact:
    return ModelArtifact(
        zip_path, config, fmt, str(config["model_content_hash_value"]).lower(), zip_path.stat().st_size, root
    )


def _require_in_local_mirror(base: str, entry: PretrainedModel, fmt: str) -> None:
    """In a mirror directory, a version it lacks is one error naming the versions it holds (a 404 would not)."""
    if not base.startswith("file://"):
        return
    root = Path(urllib.request.url2pathname(urllib.parse.urlparse(base).path))
    if (root / entry.config_path(fmt)).is_file():
        return
    model_dir = root / entry.name
    held = sorted(config.parent.parent.name for config in model_dir.glob(f"*/{fmt.lower()}/config.json"))
    raise ArtifactDownloadError(
        f"The mirror {base} has no {fmt} artifact of {entry.name} {entry.version}; it holds "
        + (f"version(s) {', '.join(held)}: pass --model-version with one of them" if held else "no version of it")
        + f", or add {entry.version} to the mirror (or point {MIRROR_ENV} at one that has it)."
    )


def _read_url(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, OSError) as error:
        raise ArtifactDownloadError(_unreachable(url, error)) from error


def _download(url: str, destination: Path, config: dict[str, Any], progress_bar: bool) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
            total = int(response.headers.get("Content-Length") or config.get("model_content_size_in_bytes") or 0)
            with tqdm(
                total=total or None, unit="B", unit_scale=True, desc=PurePosixPath(url).name, disable=not progress_bar
            ) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as error:
        raise ArtifactDownloadError(_unreachable(url, error)) from error


def _unreachable(url: str, error: BaseException) -> str:
    reason = getattr(error, "reason", error)
    if (isinstance(error, urllib.error.HTTPError) and error.code == 404) or isinstance(reason, FileNotFoundError):
        return f"{url} does not exist (404). Check the model name, version and format, or the mirror's layout."
    return (
        f"Could not read {url}: {reason}. On a machine without internet, point {MIRROR_ENV} (or mirror=...) at a "
        "directory laid out like the artifacts site; a model downloaded once is then reused from the cache."
    )


def _write_stamp(zip_path: Path, config: dict[str, Any]) -> None:
    write_json(
        zip_path.with_name(_VERIFIED_STAMP),
        {"sha256": str(config["model_content_hash_value"]).lower(), **file_stamp(zip_path)},
    )


def _stamp_matches(zip_path: Path, config: dict[str, Any]) -> bool:
    """True when the zip is the very file that was verified (same hash promise, size and modification time)."""
    stamp = read_json(zip_path.with_name(_VERIFIED_STAMP))
    try:
        current = file_stamp(zip_path)
    except OSError:
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("sha256") == str(config.get("model_content_hash_value", "")).lower()
        and stamp.get("size") == current["size"]
        and stamp.get("mtime_ns") == current["mtime_ns"]
    )
