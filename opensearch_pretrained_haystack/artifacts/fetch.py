"""Verified model artifacts: download (or mirror), check against config.json, cache, and unpack safely.

A file in the cache is trusted only after its size and SHA-256 matched the ``config.json`` published beside
it. Every write goes to a temporary name first and is renamed into place, so a crash or Ctrl-C never leaves a
file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import platformdirs
from tqdm import tqdm

from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.errors import (
    ArtifactDownloadError,
    ArtifactFormatError,
    ArtifactIntegrityError,
)

CACHE_ENV = "OPENSEARCH_PRETRAINED_CACHE"
MIRROR_ENV = "OPENSEARCH_PRETRAINED_MIRROR"
# ML Commons refuses models over 4 GB; an archive that claims more is broken or hostile.
MAX_UNPACKED_BYTES = 4_000_000_000
MODEL_SUFFIXES = (".onnx", ".pt")
TOKENIZER_FILE = "tokenizer.json"
_CHUNK = 1 << 20
_VERIFIED_STAMP = ".verified.json"


@dataclass(frozen=True)
class ExtractedModel:
    """The two files ML Commons uses from a model zip, unpacked on disk."""

    model_file: Path
    tokenizer_file: Path


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
    def name(self) -> str:
        return str(self.config.get("name") or self.zip_path.stem)

    @property
    def version(self) -> str:
        return str(self.config.get("version") or "")

    def extract(self) -> ExtractedModel:
        """Unpack the model file and ``tokenizer.json`` once into the cache, keyed by the zip's hash."""
        target = self.cache_dir / "extracted" / self.sha256[:24]
        if not target.is_dir():
            with zipfile.ZipFile(self.zip_path) as archive:
                entries = check_zip_entries(archive, str(self.zip_path))
                target.parent.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
                try:
                    for entry in entries:
                        with archive.open(entry) as source, open(staging / PurePosixPath(entry.filename).name, "wb") as out:
                            shutil.copyfileobj(source, out, _CHUNK)
                    os.replace(staging, target)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    if not target.is_dir():
                        raise
        model_file = next(p for p in target.iterdir() if p.suffix in MODEL_SUFFIXES)
        return ExtractedModel(model_file=model_file, tokenizer_file=target / TOKENIZER_FILE)


def default_cache_dir() -> Path:
    """``$OPENSEARCH_PRETRAINED_CACHE``, else the user's cache directory."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path(platformdirs.user_cache_dir("opensearch-pretrained-haystack"))


def artifacts_base_url(model: PretrainedModel, mirror: str | os.PathLike[str] | None = None) -> str:
    """Where to read artifacts from: ``mirror``, else ``$OPENSEARCH_PRETRAINED_MIRROR``, else the official site.

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
    """Return the verified artifact of a catalog model, downloading it only when the cache lacks it.

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
        config = _read_config(config_path)
        if _stamp_matches(zip_path, config):
            return _artifact(zip_path, config, fmt, root)

    base = artifacts_base_url(entry, mirror)
    config_bytes = _read_url(f"{base}/{entry.config_path(fmt)}")
    config = _parse_config(config_bytes, f"{base}/{entry.config_path(fmt)}")
    folder.mkdir(parents=True, exist_ok=True)
    with _atomic_file(zip_path) as partial:
        _download(f"{base}/{entry.artifact_path(fmt)}", partial, config, progress_bar)
        _verify(partial, config, source=f"{base}/{entry.artifact_path(fmt)}")
    with _atomic_file(config_path) as partial:
        partial.write_bytes(config_bytes)
    _write_stamp(zip_path, config)
    return _artifact(zip_path, config, fmt, root)


def load_artifact(
    zip_path: str | os.PathLike[str],
    config_path: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ModelArtifact:
    """Open a custom model (e.g. a user's fine-tuned model) in the pretrained format: a zip and its config.json.

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
    config = _read_config(config_file)
    sha256 = _verify(zip_file, config, source=str(zip_file))
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    fmt = str(config.get("model_format") or "ONNX").upper()
    return ModelArtifact(zip_file, config, fmt, sha256, zip_file.stat().st_size, root)


def load_model_dir(directory: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None) -> ModelArtifact:
    """Open a directory that holds exactly one model zip and its ``config.json``."""
    folder = Path(directory).expanduser()
    zips = sorted(folder.glob("*.zip"))
    if len(zips) != 1:
        raise ArtifactFormatError(f"{folder} must hold exactly one model .zip beside config.json; found {len(zips)}.")
    return load_artifact(zips[0], folder / "config.json", cache_dir=cache_dir)


def check_zip_entries(archive: zipfile.ZipFile, source: str) -> list[zipfile.ZipInfo]:
    """Return the model file and tokenizer entries of a model zip, refusing anything unsafe or ambiguous."""
    total = 0
    models, tokenizers = [], []
    for info in archive.infolist():
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
            raise ArtifactFormatError(f"{source} has an entry outside the archive ({info.filename!r}); refusing to unpack it.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArtifactFormatError(f"{source} has a link entry ({info.filename!r}); model zips hold plain files only.")
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise ArtifactFormatError(f"{source} unpacks to more than {MAX_UNPACKED_BYTES:,} bytes; refusing to unpack it.")
        if info.is_dir():
            continue
        if path.suffix in MODEL_SUFFIXES:
            models.append(info)
        elif path.name == TOKENIZER_FILE:
            tokenizers.append(info)
    if len(models) != 1:
        names = ", ".join(m.filename for m in models) or "none"
        raise ArtifactFormatError(
            f"{source} must hold exactly one model file (.onnx or .pt) as ML Commons requires; found {names}."
        )
    if len(tokenizers) != 1:
        raise ArtifactFormatError(f"{source} must hold exactly one tokenizer.json as ML Commons requires; found {len(tokenizers)}.")
    return [models[0], tokenizers[0]]


def _artifact(zip_path: Path, config: dict[str, Any], fmt: str, root: Path) -> ModelArtifact:
    return ModelArtifact(zip_path, config, fmt, str(config["model_content_hash_value"]).lower(), zip_path.stat().st_size, root)


def _read_url(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as error:
        raise ArtifactDownloadError(_unreachable(url, error)) from error


def _download(url: str, destination: Path, config: dict[str, Any], progress_bar: bool) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
            total = int(response.headers.get("Content-Length") or config.get("model_content_size_in_bytes") or 0)
            with tqdm(total=total or None, unit="B", unit_scale=True, desc=PurePosixPath(url).name, disable=not progress_bar) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as error:
        raise ArtifactDownloadError(_unreachable(url, error)) from error


def _unreachable(url: str, error: BaseException) -> str:
    reason = getattr(error, "reason", error)
    if isinstance(error, urllib.error.HTTPError) and error.code == 404 or isinstance(reason, FileNotFoundError):
        return f"{url} does not exist (404). Check the model name, version and format, or the mirror's layout."
    return (
        f"Could not read {url}: {reason}. On a machine without internet, point {MIRROR_ENV} (or mirror=...) at a "
        "directory laid out like the artifacts site; a model downloaded once is then reused from the cache."
    )


def _parse_config(raw: bytes, source: str) -> dict[str, Any]:
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactFormatError(f"{source} is not valid JSON ({error}); it should be the model's config.json.") from error
    if not isinstance(config, dict) or "model_content_hash_value" not in config:
        raise ArtifactFormatError(f"{source} has no model_content_hash_value, so the artifact cannot be verified.")
    return config


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactFormatError(f"{path} is not a readable config.json ({error}).") from error
    if not isinstance(config, dict):
        raise ArtifactFormatError(f"{path} is not a JSON object; it should be the model's config.json.")
    return config


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, config: dict[str, Any], *, source: str) -> str:
    """Check size and SHA-256 against config.json; a file that fails is removed if it is ours to remove."""
    expected_size = config.get("model_content_size_in_bytes")
    expected_hash = str(config.get("model_content_hash_value") or "").lower()
    actual_size = path.stat().st_size
    if expected_size is not None and int(expected_size) != actual_size:
        raise ArtifactIntegrityError(
            f"{source} has {actual_size:,} bytes but its config.json says {int(expected_size):,}: the download is "
            "incomplete or the file was replaced. It was not used; run the command again, or check the mirror."
        )
    actual_hash = _sha256(path)
    if expected_hash and actual_hash != expected_hash:
        raise ArtifactIntegrityError(
            f"{source} has SHA-256 {actual_hash} but its config.json says {expected_hash}: the file is corrupt or "
            "does not belong to this config. It was not used; run the command again, or check the mirror."
        )
    if not (zipfile.is_zipfile(path)):
        raise ArtifactFormatError(f"{source} is not a zip archive; a model artifact is a zip of the model and tokenizer.json.")
    return actual_hash


def _write_stamp(zip_path: Path, config: dict[str, Any]) -> None:
    info = zip_path.stat()
    stamp = {"sha256": str(config["model_content_hash_value"]).lower(), "size": info.st_size, "mtime_ns": info.st_mtime_ns}
    with _atomic_file(zip_path.with_name(_VERIFIED_STAMP)) as partial:
        partial.write_text(json.dumps(stamp), "utf-8")


def _stamp_matches(zip_path: Path, config: dict[str, Any]) -> bool:
    """True when the zip is the very file that was verified (same hash promise, size and modification time)."""
    try:
        stamp = json.loads(zip_path.with_name(_VERIFIED_STAMP).read_text("utf-8"))
        info = zip_path.stat()
    except (OSError, json.JSONDecodeError):
        return False
    return (
        stamp.get("sha256") == str(config.get("model_content_hash_value", "")).lower()
        and stamp.get("size") == info.st_size
        and stamp.get("mtime_ns") == info.st_mtime_ns
    )


@contextmanager
def _atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only if the block finishes."""
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
