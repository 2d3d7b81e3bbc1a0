"""Provisioning logic that needs no download: the Maven pom, zip extraction, modules, idempotency."""

import json
import stat
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.node import provision as prov
from opensearch_pretrained_haystack.node import versions as v
from opensearch_pretrained_haystack.node.paths import NodeLayout

POM = "{http://maven.apache.org/POM/4.0.0}"


def test_download_pom_lists_every_artifact_and_only_module_jars_are_transitive() -> None:
    root = ET.fromstring(prov._render_download_pom())
    dependencies = root.findall(f"{POM}dependencies/{POM}dependency")
    artifacts = {d.findtext(f"{POM}artifactId"): d for d in dependencies}
    expected = {c[1] for c in [v.CORE_ZIP, *v.PLUGIN_ZIPS, v.PYTORCH_NATIVE_JAR, v.PYTORCH_JNI_JAR]}
    expected |= {m.coordinate[1] for m in v.MODULES}
    assert set(artifacts) == expected
    for module in v.MODULES:
        assert artifacts[module.coordinate[1]].find(f"{POM}exclusions") is None
    assert artifacts["opensearch-ml-plugin"].find(f"{POM}exclusions") is not None
    assert artifacts["opensearch-ml-plugin"].findtext(f"{POM}type") == "zip"
    assert artifacts["pytorch-native-cpu"].findtext(f"{POM}classifier") == "linux-x86_64"


def test_artifact_file_name_matches_maven_copy_names() -> None:
    assert v.artifact_file_name(v.CORE_ZIP) == "opensearch-2.19.1.zip"
    assert v.artifact_file_name(v.PYTORCH_NATIVE_JAR) == "pytorch-native-cpu-2.5.1-linux-x86_64.jar"


def test_extract_zip_keeps_executable_bits(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        info = zipfile.ZipInfo("home/bin/opensearch")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        zipped.writestr(info, "#!/bin/sh\n")
    prov._extract_zip(archive, tmp_path / "out")
    assert (tmp_path / "out/home/bin/opensearch").stat().st_mode & 0o777 == 0o755


def test_module_gets_its_jars_descriptor_and_policy(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for name in ["lang-painless-2.19.1.jar", "asm-9.7.jar", "opensearch-ml-plugin-2.19.1.0.zip", "lucene-core.jar"]:
        (downloads / name).write_bytes(b"")
    painless = next(m for m in v.MODULES if m.name == "lang-painless")
    prov._build_module(painless, downloads, tmp_path / "module")
    names = sorted(p.name for p in (tmp_path / "module").iterdir())
    assert names == ["asm-9.7.jar", "lang-painless-2.19.1.jar", "plugin-descriptor.properties",
                     "plugin-security.policy"]
    descriptor = (tmp_path / "module/plugin-descriptor.properties").read_text()
    assert "classname=org.opensearch.painless.PainlessPlugin" in descriptor


def test_pytorch_seed_flattens_natives_and_names_the_jni_for_djl(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_NATIVE_JAR), "w") as native:
        native.writestr("pytorch/cpu/linux-x86_64/libtorch.so", b"t")
        native.writestr("pytorch/cpu/linux-x86_64/libgomp-1.so.1", b"g")
        native.writestr("native/lib/pytorch.properties", b"p")
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_JNI_JAR), "w") as jni:
        jni.writestr("jnilib/linux-x86_64/cpu/libdjl_torch.so", b"j")
        jni.writestr("jnilib/linux-x86_64/cpu-precxx11/libdjl_torch.so", b"wrong")
    target = prov.pytorch_dir(tmp_path / "home")
    prov._seed_pytorch(downloads, target)
    assert target.name == "2.5.1-cpu-linux-x86_64"
    assert sorted(p.name for p in target.iterdir()) == ["0.31.1-libdjl_torch.so", "libgomp-1.so.1", "libtorch.so"]
    assert (target / "0.31.1-libdjl_torch.so").read_bytes() == b"j"


def test_provisioned_node_is_reused_without_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = NodeLayout(tmp_path)
    layout.home.mkdir()
    layout.marker.write_text(json.dumps(prov.RECIPE))
    monkeypatch.setattr(prov, "_download", lambda downloads: pytest.fail("must not download"))
    prov.provision(layout)


@pytest.mark.parametrize("marker", [None, "{}", "not json"])
def test_missing_or_stale_marker_means_not_provisioned(tmp_path: Path, marker: str | None) -> None:
    layout = NodeLayout(tmp_path)
    layout.home.mkdir()
    if marker is not None:
        layout.marker.write_text(marker)
    assert not prov.is_provisioned(layout)


def test_missing_maven_is_a_prerequisite_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prov.shutil, "which", lambda name: None)
    with pytest.raises(prov.PrerequisiteError, match="Maven"):
        prov._download(tmp_path / "downloads")
