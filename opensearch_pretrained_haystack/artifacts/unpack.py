"""
Safe unpacking of a verified model zip, and checks that the unpacked files are still what was unpacked.

The zip is verified against its config.json; the unpacked copy is not covered by that check, so each file's
SHA-256 and stamp are recorded at extraction. At load a ``stat`` per file confirms the stamp; only a changed
stamp costs a hash, and a file that differs (edited, truncated, deleted) is unpacked again from the zip.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from opensearch_pretrained_haystack.artifacts.verify import CHUNK, file_sha256, file_stamp, read_json, write_json
from opensearch_pretrained_haystack.errors import ArtifactFormatError

logger = logging.getLogger(__name__)

# ML Commons refuses models over 4 GB; an archive that claims more is broken or hostile.
MAX_UNPACKED_BYTES = 4_000_000_000
MODEL_SUFFIXES = (".onnx", ".pt")
TOKENIZER_FILE = "tokenizer.json"
_MANIFEST = ".files.json"
# What reading a damaged zip raises: a bad header or CRC, a corrupt deflate stream, a truncated file.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError)


@dataclass(frozen=True)
class ExtractedModel:
    """The two files ML Commons uses from a model zip, unpacked on disk."""

    model_file: Path
    tokenizer_file: Path


def entry_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """
    An entry's path, a backslash read as a separator as ML Commons reads it (zips made on Windows use them).

    One rule for every check, for unpacking and for reading a member.
    """
    return PurePosixPath(info.filename.replace("\\", "/"))


def safe_entries(archive: zipfile.ZipFile, source: str) -> list[zipfile.ZipInfo]:
    """
    The file entries of ``archive``: the checks every zip the package opens passes first.

    It refuses any entry that would unpack outside it, a link, or more than ``MAX_UNPACKED_BYTES`` in all.
    """
    total = 0
    files = []
    for info in archive.infolist():
        path = entry_path(info)
        if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
            raise ArtifactFormatError(
                f"{source} has an entry outside the archive ({info.filename!r}); refusing to unpack it."
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArtifactFormatError(
                f"{source} has a link entry ({info.filename!r}); model zips hold plain files only."
            )
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise ArtifactFormatError(
                f"{source} unpacks to more than {MAX_UNPACKED_BYTES:,} bytes; refusing to unpack it."
            )
        if not info.is_dir():
            files.append(info)
    return files


def check_zip_entries(archive: zipfile.ZipFile, source: str, *, needs_model_file: bool = True) -> list[zipfile.ZipInfo]:
    """
    Return the model file and tokenizer entries of a model zip, refusing anything unsafe or ambiguous.

    A SPARSE_TOKENIZE zip has no model file (``needs_model_file=False``: its tokenizer.json and idf.json are the
    model), so only its tokenizer entry is returned.
    """
    models, tokenizers = [], []
    for info in safe_entries(archive, source):
        path = entry_path(info)
        if path.suffix in MODEL_SUFFIXES:
            models.append(info)
        elif path.name == TOKENIZER_FILE:
            tokenizers.append(info)
    if len(models) != (1 if needs_model_file else 0):
        names = ", ".join(m.filename for m in models) or "none"
        wanted = "exactly one model file (.onnx or .pt)" if needs_model_file else "no model file (a query tokenizer)"
        raise ArtifactFormatError(f"{source} must hold {wanted} as ML Commons requires; found {names}.")
    if len(tokenizers) != 1:
        raise ArtifactFormatError(
            f"{source} must hold exactly one tokenizer.json as ML Commons requires; found {len(tokenizers)}."
        )
    return [*models, tokenizers[0]]


def check_zip(zip_path: Path, *, needs_model_file: bool = True) -> None:
    """The unpacking checks alone (entries only, nothing written): what every upload must pass first."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            check_zip_entries(archive, str(zip_path), needs_model_file=needs_model_file)
    except zipfile.BadZipFile as error:
        raise ArtifactFormatError(f"{zip_path} is not a readable zip archive ({error}).") from error


def extract_model(zip_path: Path, target: Path) -> ExtractedModel:
    """The model file and ``tokenizer.json`` of ``zip_path`` in ``target``, unpacked again if damaged or absent."""
    files, damage = _intact(target)
    if files is not None:
        return files
    if damage:
        logger.warning(
            "The unpacked copy of %s is damaged (%s); unpacking it again from the verified zip.", zip_path, damage
        )
    _unpack(zip_path, target)
    files, damage = _intact(target)
    if files is None:
        raise ArtifactFormatError(f"{target} changed while it was being unpacked ({damage}); run the command again.")
    return files


def _intact(target: Path) -> tuple[ExtractedModel | None, str]:
    """The files if they match the manifest written at extraction, else why not ("" when never unpacked)."""
    manifest = read_json(target / _MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None, "its list of files is missing" if target.exists() else ""
    refreshed = False
    for name, recorded in manifest["files"].items():
        path = target / name
        try:
            stamp = file_stamp(path)
        except OSError:
            return None, f"{name} is missing"
        if stamp["size"] != recorded.get("size"):
            return None, f"{name} has {stamp['size']:,} bytes, not {recorded.get('size'):,}"
        if stamp["mtime_ns"] != recorded.get("mtime_ns"):
            if file_sha256(path) != recorded.get("sha256"):
                return None, f"{name} was modified"
            recorded.update(stamp)  # touched but identical: trust the new stamp from now on
            refreshed = True
    if refreshed:
        write_json(target / _MANIFEST, manifest)
    return ExtractedModel(target / manifest["model"], target / TOKENIZER_FILE), ""


def _unpack(zip_path: Path, target: Path) -> None:
    """Unpack into a fresh directory beside ``target`` and swap it in; a crash leaves ``target`` as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    try:
        try:
            with zipfile.ZipFile(zip_path) as archive:
                entries = check_zip_entries(archive, str(zip_path))
                files = {entry_path(entry).name: _copy_entry(archive, entry, staging, zip_path) for entry in entries}
        except _DAMAGED as error:
            raise ArtifactFormatError(f"{zip_path} is damaged ({error}); it cannot be unpacked.") from error
        for name, record in files.items():
            record.update(file_stamp(staging / name))
        write_json(staging / _MANIFEST, {"model": entry_path(entries[0]).name, "files": files})
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_member(zip_path: Path, name: str, *, limit: int) -> bytes:
    """
    The one file named ``name`` (at any depth) of a zip, read into memory.

    Read after the checks of ``safe_entries``, decompressed no further than its declared size, which may be at most
    ``limit`` bytes.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = [info for info in safe_entries(archive, str(zip_path)) if entry_path(info).name == name]
            if len(members) != 1:
                raise ArtifactFormatError(f"{zip_path} must hold exactly one {name}; found {len(members)}.")
            if members[0].file_size > limit:
                raise ArtifactFormatError(
                    f"{zip_path}: {name} unpacks to {members[0].file_size:,} bytes, more than {limit:,}; refusing to "
                    "read it."
                )
            return b"".join(_entry_chunks(archive, members[0], zip_path))
    except _DAMAGED as error:
        raise ArtifactFormatError(f"{zip_path} is damaged or not a zip archive ({error}); it cannot be read.") from None


def _copy_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, folder: Path, zip_path: Path) -> dict[str, object]:
    """Copy one entry, hashing as it goes (see ``_entry_chunks``)."""
    digest = hashlib.sha256()
    with open(folder / entry_path(entry).name, "wb") as out:
        for chunk in _entry_chunks(archive, entry, zip_path):
            digest.update(chunk)
            out.write(chunk)
    return {"sha256": digest.hexdigest()}


def _entry_chunks(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, zip_path: Path) -> Iterator[bytes]:
    """
    The decompressed bytes of ``entry`` in chunks.

    One whose bytes differ from its declared size is refused as soon as it shows (so a lying entry never decompresses
    past its declared size).
    """
    read = 0
    with archive.open(entry) as source:
        while chunk := source.read(CHUNK):
            read += len(chunk)
            if read > entry.file_size:
                break
            yield chunk
    if read != entry.file_size:
        raise ArtifactFormatError(
            f"{zip_path}: entry {entry.filename!r} declares {entry.file_size:,} bytes but holds "
            f"{'more' if read > entry.file_size else f'{read:,}'}; the archive is damaged or forged."
        )


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` (absent or damaged) by ``staging``; if another process got there first, keep theirs."""
    if target.exists():
        stale = Path(tempfile.mkdtemp(prefix=".stale-", dir=target.parent))
        try:
            os.replace(target, stale / target.name)
        except FileNotFoundError:
            pass  # another process moved it already
        finally:
            shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(staging, target)
    except OSError:
        if not target.is_dir():
            raise
