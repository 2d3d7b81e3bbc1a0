"""
Trust checks for files on disk: SHA-256 against config.json, stamps of verified files, atomic writes.

A stamp records a file's size and modification time at the moment its hash was checked, so the next run can
trust it after one ``stat`` instead of hashing it again; any change to the file changes the stamp.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opensearch_pretrained_haystack.errors import ArtifactFormatError, ArtifactIntegrityError

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """
    The SHA-256 of the file at ``path``, read in chunks.

    :param path: The file.
    :returns: The hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_stamp(path: Path) -> dict[str, int]:
    """Size and modification time: what changes whenever the file's bytes are written."""
    info = path.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


def verify_zip(path: Path, config: dict[str, Any], *, source: str) -> str:
    """Check size and SHA-256 against config.json and that the file is a zip; returns the SHA-256."""
    expected_size = config.get("model_content_size_in_bytes")
    expected_hash = str(config.get("model_content_hash_value") or "").lower()
    actual_size = path.stat().st_size
    if expected_size is not None and int(expected_size) != actual_size:
        raise ArtifactIntegrityError(
            f"{source} has {actual_size:,} bytes but its config.json says {int(expected_size):,}: the download is "
            "incomplete or the file was replaced. It was not used; run the command again, or check the mirror."
        )
    actual_hash = file_sha256(path)
    if expected_hash and actual_hash != expected_hash:
        raise ArtifactIntegrityError(
            f"{source} has SHA-256 {actual_hash} but its config.json says {expected_hash}: the file is corrupt or "
            "does not belong to this config. It was not used; run the command again, or check the mirror."
        )
    if not zipfile.is_zipfile(path):
        raise ArtifactFormatError(
            f"{source} is not a zip archive; a model artifact is a zip of the model and tokenizer.json."
        )
    return actual_hash


def parse_config(raw: bytes, source: str) -> dict[str, Any]:
    """A downloaded config.json, which must carry the hash that verifies its zip."""
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactFormatError(
            f"{source} is not valid JSON ({error}); it should be the model's config.json."
        ) from error
    if not isinstance(config, dict) or "model_content_hash_value" not in config:
        raise ArtifactFormatError(f"{source} has no model_content_hash_value, so the artifact cannot be verified.")
    return config


def read_config(path: Path) -> dict[str, Any]:
    """
    Read a model's ``config.json``.

    :param path: The file.
    :returns: Its JSON object.
    :raises ArtifactFormatError: The file cannot be read, is not JSON, or is not an object.
    """
    try:
        config = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactFormatError(f"{path} is not a readable config.json ({error}).") from error
    if not isinstance(config, dict):
        raise ArtifactFormatError(f"{path} is not a JSON object; it should be the model's config.json.")
    return config


def write_json(path: Path, value: Any) -> None:
    """
    Write ``value`` as JSON to ``path`` atomically (a reader sees the old file or the new one).

    :param path: The file.
    :param value: What to write.
    """
    with atomic_file(path) as partial:
        partial.write_text(json.dumps(value), "utf-8")


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or ``None`` when it is missing or unreadable (a stamp that does not count)."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
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
