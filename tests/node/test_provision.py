"""Provisioning logic that needs no download: the Maven pom, zip extraction, modules, idempotency."""

import json
import shutil
import stat
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.node import provision as prov
from opensearch_pretrained_haystack.node import versions as v
from opensearch_pretrained_haystack.node.paths import NodeLayout

POM = "{http://maven.apache.org/POM/4.0.0}"
PROFILE_PARAMS = pytest.mark.parametrize("profile", list(v.PROFILES.values()), ids=list(v.PROFILES))


def _fake_provision(tmp_path: Path, profile: v.NodeProfile, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Run provision() with Maven, the plugin installer and Java replaced; return the Maven artifact lists."""
    downloaded: list[list[str]] = []

    def download(downloads: Path, coordinates: list[v.Coordinate], transitive: list[v.Coordinate] = ()) -> None:
        downloaded.append([c[1] for c in [*coordinates, *transitive]])
        downloads.mkdir(parents=True)
        with zipfile.ZipFile(downloads / v.artifact_file_name(profile.core_zip), "w") as core:
            core.writestr(f"opensearch-{profile.version}/bin/opensearch", "")
        for coordinate in [v.PYTORCH_NATIVE_JAR, v.PYTORCH_JNI_JAR]:
            with zipfile.ZipFile(downloads / v.artifact_file_name(coordinate), "w") as jar:
                jar.writestr("pytorch/cpu/linux-x86_64/libtorch.so", b"t")
                jar.writestr(f"jnilib/linux-x86_64/{v.PYTORCH_FLAVOR}/libdjl_torch.so", b"j")

    monkeypatch.setattr(prov, "_download", download)
    monkeypatch.setattr(prov, "_install_plugins", lambda *args: None)
    monkeypatch.setattr(prov, "find_java_home", lambda profile: tmp_path / "jdk")
    monkeypatch.setattr(prov, "running_as_root", lambda: False)
    return downloaded


@PROFILE_PARAMS
def test_download_pom_lists_every_artifact_and_only_module_jars_are_transitive(profile: v.NodeProfile) -> None:
    module_jars = [m.coordinate(profile.version) for m in profile.modules]
    zips = [profile.core_zip, *profile.plugin_zips, v.PYTORCH_NATIVE_JAR, v.PYTORCH_JNI_JAR]
    root = ET.fromstring(prov._render_download_pom(zips, module_jars))
    dependencies = root.findall(f"{POM}dependencies/{POM}dependency")
    artifacts = {d.findtext(f"{POM}artifactId"): d for d in dependencies}
    assert set(artifacts) == {c[1] for c in [*zips, *module_jars]}
    for module in profile.modules:
        assert artifacts[module.artifact].find(f"{POM}exclusions") is None
    assert artifacts["opensearch-ml-plugin"].find(f"{POM}exclusions") is not None
    assert artifacts["opensearch-ml-plugin"].findtext(f"{POM}type") == "zip"
    assert artifacts["opensearch-ml-plugin"].findtext(f"{POM}version") == f"{profile.version}.0"
    assert artifacts["pytorch-native-cpu"].findtext(f"{POM}classifier") == "linux-x86_64"


@PROFILE_PARAMS
def test_artifact_file_name_matches_maven_copy_names(profile: v.NodeProfile) -> None:
    assert v.artifact_file_name(profile.core_zip) == f"opensearch-{profile.version}.zip"
    assert v.artifact_file_name(v.PYTORCH_NATIVE_JAR) == "pytorch-native-cpu-2.5.1-linux-x86_64.jar"


def test_default_version_is_3_6_0_and_an_unknown_one_is_a_clear_error() -> None:
    assert v.get_profile().version == "3.6.0"
    with pytest.raises(prov.NodeError, match=r"3\.7\.0 is not supported.*3\.6\.0, 2\.19\.1"):
        v.get_profile("3.7.0")


def test_modules_are_built_for_2_19_1_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the 3.6.0 integ-test zip ships lang-painless, reindex etc.: a hand-built copy would clash with them
    built: list[str] = []
    monkeypatch.setattr(prov, "_build_module", lambda module, *args: built.append(module.name))
    for version in ("3.6.0", "2.19.1"):
        profile = v.get_profile(version)
        downloaded = _fake_provision(tmp_path / version, profile, monkeypatch)
        prov.provision(NodeLayout(tmp_path / version, version), profile)
        assert "lang-painless" in downloaded[0] if version == "2.19.1" else "lang-painless" not in downloaded[0]
    assert built == ["lang-painless", "reindex", "mapper-extras"]


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
    prov._build_module(v.LANG_PAINLESS, downloads, tmp_path / "module", "2.19.1")
    names = sorted(p.name for p in (tmp_path / "module").iterdir())
    assert names == [
        "asm-9.7.jar",
        "lang-painless-2.19.1.jar",
        "plugin-descriptor.properties",
        "plugin-security.policy",
    ]
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
    assert sorted(p.name for p in target.iterdir()) == [
        "0.31.1-libdjl_torch.so",
        "libgomp-1.so.1",
        "libtorch.so",
        prov.SEED_MANIFEST,
    ]
    assert (target / "0.31.1-libdjl_torch.so").read_bytes() == b"j"
    assert prov.is_pytorch_seeded(target)


@pytest.mark.parametrize("damage", ["remove data", "remove a library", "truncate a library", "no manifest"])
def test_start_repairs_pytorch_natives_missing_from_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    # Issue 14 item 16: removing data/ (a user's reset) used to leave a node whose model deploys all failed.
    profile = v.get_profile("3.6.0")
    downloaded = _fake_provision(tmp_path, profile, monkeypatch)
    layout = NodeLayout(tmp_path, profile.version)
    prov.provision(layout, profile)
    target = prov.pytorch_dir(layout.home)
    {
        "remove data": lambda: shutil.rmtree(layout.data_dir),
        "remove a library": lambda: (target / "libtorch.so").unlink(),
        "truncate a library": lambda: (target / "libtorch.so").write_bytes(b""),
        "no manifest": lambda: (target / prov.SEED_MANIFEST).unlink(),
    }[damage]()
    assert not prov.is_pytorch_seeded(target)
    prov.ensure_pytorch_seeded(layout)
    assert prov.is_pytorch_seeded(target)
    assert (target / "libtorch.so").read_bytes() == b"t"
    assert downloaded[-1] == ["pytorch-native-cpu", "pytorch-jni"]
    assert not (tmp_path / "staging-pytorch").exists()


def test_intact_pytorch_natives_are_not_fetched_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = v.get_profile("3.6.0")
    downloaded = _fake_provision(tmp_path, profile, monkeypatch)
    layout = NodeLayout(tmp_path, profile.version)
    prov.provision(layout, profile)
    prov.ensure_pytorch_seeded(layout)
    assert len(downloaded) == 1


@PROFILE_PARAMS
def test_provisioned_node_is_reused_without_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: v.NodeProfile
) -> None:
    layout = NodeLayout(tmp_path, profile.version)
    layout.home.mkdir()
    layout.marker.write_text(json.dumps(prov.recipe(profile)))
    monkeypatch.setattr(prov, "_download", lambda *args: pytest.fail("must not download"))
    prov.provision(layout, profile)


def test_2_19_1_installs_without_mapper_extras_are_rebuilt(tmp_path: Path) -> None:
    # recipe 2 installs lack the mapper-extras module (rank_features, for neural sparse): they must be rebuilt
    layout = NodeLayout(tmp_path, "2.19.1")
    layout.home.mkdir()
    old = {"recipe": 2, "opensearch": "2.19.1", "plugins": "2.19.1.0", "pytorch": "2.5.1-cpu"}
    layout.marker.write_text(json.dumps(old))
    assert not prov.is_provisioned(layout, v.get_profile("2.19.1"))
    assert "mapper-extras" in {module.name for module in v.get_profile("2.19.1").modules}


@pytest.mark.parametrize("marker", [None, "{}", "not json", "other version"])
def test_missing_or_stale_marker_means_not_provisioned(tmp_path: Path, marker: str | None) -> None:
    layout = NodeLayout(tmp_path, "3.6.0")
    layout.home.mkdir()
    if marker == "other version":
        marker = json.dumps(prov.recipe(v.get_profile("2.19.1")))
    if marker is not None:
        layout.marker.write_text(marker)
    assert not prov.is_provisioned(layout, v.get_profile("3.6.0"))


def test_missing_maven_is_a_prerequisite_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prov.shutil, "which", lambda name: None)
    with pytest.raises(prov.PrerequisiteError, match="Maven"):
        prov._download(tmp_path / "downloads", [v.PYTORCH_JNI_JAR])
