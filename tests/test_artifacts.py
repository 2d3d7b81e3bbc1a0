import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from opensearch_pretrained_haystack import artifacts
from opensearch_pretrained_haystack.errors import (
    ArtifactDownloadError,
    ArtifactFormatError,
    ArtifactIntegrityError,
    UnknownModelError,
)
from tests.conftest import MIRROR, TESTING

MINILM = "huggingface/sentence-transformers/all-MiniLM-L6-v2/1.0.1/onnx"


def _fake_mirror(root: Path, zip_bytes: bytes, config_overrides: dict | None = None) -> Path:
    """A mirror holding the tiny test model under the all-MiniLM-L6-v2 1.0.1 ONNX path."""
    folder = root / "models" / "ml-models" / MINILM
    folder.mkdir(parents=True)
    (folder / "sentence-transformers_all-MiniLM-L6-v2-1.0.1-onnx.zip").write_bytes(zip_bytes)
    config = {
        "name": "huggingface/sentence-transformers/all-MiniLM-L6-v2",
        "version": "1.0.1",
        "model_format": "ONNX",
        "model_content_size_in_bytes": len(zip_bytes),
        "model_content_hash_value": hashlib.sha256(zip_bytes).hexdigest(),
        "model_config": {"model_type": "bert", "embedding_dimension": 32},
        **(config_overrides or {}),
    }
    (folder / "config.json").write_text(json.dumps(config))
    return root


def _tiny_zip() -> bytes:
    return next((TESTING / "tiny-bert-mean").glob("*.zip")).read_bytes()


def test_fetch_from_the_shared_mirror_verifies_and_caches(tmp_path):
    artifact = artifacts.fetch_artifact(
        "all-MiniLM-L6-v2", "1.0.1", mirror=MIRROR, cache_dir=tmp_path, progress_bar=False
    )
    config = json.loads((MIRROR / "models/ml-models" / MINILM / "config.json").read_text())
    assert artifact.sha256 == config["model_content_hash_value"]
    assert artifact.size == config["model_content_size_in_bytes"]
    assert artifact.zip_path.is_relative_to(tmp_path)
    assert artifact.model_config["embedding_dimension"] == 384
    assert not list(artifact.zip_path.parent.glob("*.partial"))


def test_a_verified_cache_is_reused_offline(tmp_path):
    first = artifacts.fetch_artifact("all-MiniLM-L6-v2", "1.0.1", mirror=MIRROR, cache_dir=tmp_path, progress_bar=False)
    again = artifacts.fetch_artifact(
        "all-MiniLM-L6-v2", "1.0.1", mirror=tmp_path / "nowhere", cache_dir=tmp_path, progress_bar=False
    )
    assert again == first


def test_mirror_accepts_a_file_url_and_the_environment_variable(tmp_path, monkeypatch):
    mirror = _fake_mirror(tmp_path / "mirror", _tiny_zip())
    monkeypatch.setenv(artifacts.MIRROR_ENV, mirror.as_uri())
    artifact = artifacts.fetch_artifact("all-MiniLM-L6-v2", "1.0.1", cache_dir=tmp_path / "cache", progress_bar=False)
    assert artifact.size == len(_tiny_zip())


def test_hash_mismatch_is_refused_and_leaves_no_file_behind(tmp_path):
    mirror = _fake_mirror(tmp_path / "mirror", _tiny_zip(), {"model_content_hash_value": "0" * 64})
    with pytest.raises(ArtifactIntegrityError, match="SHA-256"):
        artifacts.fetch_artifact(
            "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "cache", progress_bar=False
        )
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_size_mismatch_is_refused(tmp_path):
    mirror = _fake_mirror(tmp_path / "mirror", _tiny_zip(), {"model_content_size_in_bytes": 12})
    with pytest.raises(ArtifactIntegrityError, match=re.escape("config.json says 12:")):
        artifacts.fetch_artifact(
            "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "cache", progress_bar=False
        )


def test_a_tampered_cache_file_is_downloaded_again(tmp_path):
    mirror = _fake_mirror(tmp_path / "mirror", _tiny_zip())
    artifact = artifacts.fetch_artifact(
        "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "c", progress_bar=False
    )
    artifact.zip_path.write_bytes(b"garbage")
    again = artifacts.fetch_artifact(
        "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "c", progress_bar=False
    )
    assert again.zip_path.read_bytes() == _tiny_zip()


def test_missing_source_says_how_to_work_offline(tmp_path):
    with pytest.raises(ArtifactDownloadError, match=r"404|OPENSEARCH_PRETRAINED_MIRROR"):
        artifacts.fetch_artifact("all-MiniLM-L6-v2", "1.0.2", mirror=MIRROR, cache_dir=tmp_path, progress_bar=False)


def test_network_failure_is_a_clear_error(tmp_path):
    with pytest.raises(ArtifactDownloadError, match="OPENSEARCH_PRETRAINED_MIRROR"):
        artifacts.fetch_artifact(
            "all-MiniLM-L6-v2", "1.0.1", mirror="http://127.0.0.1:9/", cache_dir=tmp_path, progress_bar=False
        )


def test_missing_format_is_refused_before_any_download(tmp_path):
    with pytest.raises(UnknownModelError):
        artifacts.fetch_artifact("distiluse-base-multilingual-cased-v1", model_format="ONNX", cache_dir=tmp_path)


def test_not_a_zip_is_refused(tmp_path):
    mirror = _fake_mirror(tmp_path / "mirror", b"this is not a zip")
    with pytest.raises(ArtifactFormatError, match="not a zip"):
        artifacts.fetch_artifact(
            "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "cache", progress_bar=False
        )


def _zip(path: Path, entries: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("entries", "links", "message"),
    [
        ({"../evil.onnx": b"x", "tokenizer.json": b"{}"}, (), "outside the archive"),
        ({"/abs/model.onnx": b"x", "tokenizer.json": b"{}"}, (), "outside the archive"),
        ({"model.onnx": b"x", "tokenizer.json": b"{}"}, ("link.txt",), "link entry"),
        ({"a.onnx": b"x", "b.onnx": b"y", "tokenizer.json": b"{}"}, (), "exactly one model file"),
        ({"model.onnx": b"x"}, (), "exactly one tokenizer.json"),
    ],
)
def test_unsafe_or_ambiguous_zips_are_refused(tmp_path, entries, links, message):
    path = _zip(tmp_path / "m.zip", entries, links)
    with zipfile.ZipFile(path) as archive, pytest.raises(ArtifactFormatError, match=message):
        artifacts.check_zip_entries(archive, str(path))


def test_absurd_unpacked_size_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts.unpack, "MAX_UNPACKED_BYTES", 10)
    path = _zip(tmp_path / "m.zip", {"model.onnx": b"x" * 20, "tokenizer.json": b"{}"})
    with zipfile.ZipFile(path) as archive, pytest.raises(ArtifactFormatError, match="more than"):
        artifacts.check_zip_entries(archive, str(path))


def test_extra_entries_such_as_a_license_are_ignored(tmp_path):
    data = {"LICENSE": b"Apache", "model.onnx": b"x", "tokenizer.json": b"{}"}
    path = _zip(tmp_path / "m.zip", data)
    with zipfile.ZipFile(path) as archive:
        assert [e.filename for e in artifacts.check_zip_entries(archive, str(path))] == ["model.onnx", "tokenizer.json"]


def test_custom_model_loads_from_a_directory_and_extracts_once(tmp_path):
    artifact = artifacts.load_model_dir(TESTING / "tiny-bert-mean", cache_dir=tmp_path)
    files = artifact.extract()
    assert files.model_file.name == "tiny-bert-mean.onnx" and files.tokenizer_file.is_file()
    assert artifact.extract() == files


def test_custom_model_with_a_wrong_hash_is_refused(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(TESTING / "tiny-bert-mean", folder)
    config = json.loads((folder / "config.json").read_text())
    config["model_content_hash_value"] = "f" * 64
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactIntegrityError):
        artifacts.load_model_dir(folder, cache_dir=tmp_path / "cache")


def test_an_interrupted_download_leaves_nothing_a_later_run_would_trust(tmp_path, monkeypatch):
    mirror = _fake_mirror(tmp_path / "mirror", _tiny_zip())
    real_download = artifacts.fetch._download

    def interrupted(url, destination, config, progress_bar):
        real_download(url, destination, config, progress_bar)
        raise KeyboardInterrupt  # Ctrl-C after the bytes landed but before verification

    monkeypatch.setattr(artifacts.fetch, "_download", interrupted)
    with pytest.raises(KeyboardInterrupt):
        artifacts.fetch_artifact(
            "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "c", progress_bar=False
        )
    assert [p for p in (tmp_path / "c").rglob("*") if p.is_file()] == []
    monkeypatch.setattr(artifacts.fetch, "_download", real_download)
    artifact = artifacts.fetch_artifact(
        "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "c", progress_bar=False
    )
    assert artifact.zip_path.read_bytes() == _tiny_zip()


def _damage(files: artifacts.ExtractedModel, how: str) -> None:
    if how == "other tokenizer":  # valid, but another model's: would silently change every vector
        tokenizer = json.loads(files.tokenizer_file.read_text())
        tokenizer["truncation"] = {"max_length": 3, "strategy": "LongestFirst", "stride": 0, "direction": "Right"}
        files.tokenizer_file.write_text(json.dumps(tokenizer))
    elif how == "garbage tokenizer":
        files.tokenizer_file.write_bytes(b"\x00garbage")
    elif how == "truncated onnx":
        data = files.model_file.read_bytes()
        files.model_file.write_bytes(data[: len(data) // 2])
    elif how == "emptied directory":
        for path in files.model_file.parent.iterdir():
            path.unlink()


@pytest.mark.parametrize("how", ["other tokenizer", "garbage tokenizer", "truncated onnx", "emptied directory"])
def test_a_damaged_unpacked_copy_is_unpacked_again_and_never_changes_vectors(tmp_path, how, caplog, monkeypatch):
    from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder, onnx_session, tokenizer

    fresh = artifacts.LoadedArtifacts()  # no other test's loaded copy of this model can stand in for the files
    monkeypatch.setattr(tokenizer, "loaded_artifacts", fresh)
    monkeypatch.setattr(onnx_session, "loaded_artifacts", fresh)

    texts = ["[CLS] hello world", "OpenSearch pretrained models", ""]
    artifact = artifacts.load_model_dir(TESTING / "tiny-bert-mean", cache_dir=tmp_path)
    first = LocalOnnxEmbedder(artifact)
    expected = first.embed(texts)
    first.close()  # the last user: the loaded model is dropped, so the next embedder loads from disk again
    files = artifact.extract()
    _damage(files, how)
    again = LocalOnnxEmbedder(artifact)
    np.testing.assert_array_equal(again.embed(texts), expected)
    again.close()
    assert "unpacking it again from the verified zip" in caplog.text
    assert artifact.extract() == files


def test_an_unchanged_file_with_a_new_mtime_is_hashed_once_and_not_unpacked_again(tmp_path, caplog):
    artifact = artifacts.load_model_dir(TESTING / "tiny-bert-mean", cache_dir=tmp_path)
    files = artifact.extract()
    inode = files.model_file.stat().st_ino
    os.utime(files.tokenizer_file, ns=(1, 1))
    assert artifact.extract() == files
    assert files.model_file.stat().st_ino == inode and "again" not in caplog.text


def test_a_zip_entry_that_lies_about_its_size_is_one_clear_error(tmp_path):
    tokenizer = b'{"truncation": null}' * 50
    path = _zip(tmp_path / "m.zip", {"model.onnx": b"x" * 100, "tokenizer.json": tokenizer})
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        start = data.find(signature, data.find(b"tokenizer.json") - 60 if signature == b"PK\x03\x04" else 0)
        start = data.rfind(signature, 0, data.find(b"tokenizer.json", start) + 1)
        data[start + offset : start + offset + 4] = (len(tokenizer) // 2).to_bytes(4, "little")
    mirror = _fake_mirror(tmp_path / "mirror", bytes(data))
    artifact = artifacts.fetch_artifact(
        "all-MiniLM-L6-v2", "1.0.1", mirror=mirror, cache_dir=tmp_path / "c", progress_bar=False
    )
    with pytest.raises(ArtifactFormatError, match=r"tokenizer\.json|damaged") as refused:
        artifact.extract()
    assert "\n" not in str(refused.value)
    assert not list((tmp_path / "c" / "extracted").glob("*/*"))  # nothing half-unpacked is left to trust


def test_one_place_resolves_names_directories_zips_and_model_objects(tmp_path):
    from opensearch_pretrained_haystack import catalog

    by_dir = artifacts.resolve_artifact(str(TESTING / "tiny-bert-mean"), cache_dir=tmp_path)
    by_zip = artifacts.resolve_artifact(next((TESTING / "tiny-bert-mean").glob("*.zip")), cache_dir=tmp_path)
    assert by_dir.sha256 == by_zip.sha256
    assert artifacts.resolve_artifact(str(TESTING / "tiny-bert-mean"), cache_dir=tmp_path) is by_dir  # once per process
    assert artifacts.resolve_artifact(by_dir) is by_dir
    model = catalog.get_model("all-MiniLM-L6-v2", "1.0.1")
    by_object = artifacts.resolve_artifact(model, mirror=MIRROR, cache_dir=tmp_path, progress_bar=False)
    assert by_object.sha256 == artifacts.resolve_artifact("all-MiniLM-L6-v2", "1.0.1", cache_dir=tmp_path).sha256
