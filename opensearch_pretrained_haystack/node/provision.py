"""
Downloading OpenSearch and its plugins with Maven and assembling them into the node directory.

Provisioning is idempotent: everything is assembled in a staging directory, moved into place, and only
then is the marker file written.  A run that was interrupted leaves no marker, so the next run starts over
instead of trusting a half-built install.
"""

import json
import logging
import os
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

from opensearch_pretrained_haystack.node import versions as v
from opensearch_pretrained_haystack.node.config import MODULE_SECURITY_POLICIES, render_plugin_descriptor
from opensearch_pretrained_haystack.node.errors import NodeError, PrerequisiteError
from opensearch_pretrained_haystack.node.java import find_java_home
from opensearch_pretrained_haystack.node.locks import exclusive_lock
from opensearch_pretrained_haystack.node.paths import (
    RUN_AS_USER,
    NodeLayout,
    make_traversable_dir,
    running_as_root,
    write_json_atomically,
)

logger = logging.getLogger(__name__)

# Bump when the assembly recipe changes, so existing installs are rebuilt.
RECIPE_NUMBER = 3
SEED_MANIFEST = "seeded.json"  # written last into the PyTorch directory: names and sizes of the seeded files


def recipe(profile: v.NodeProfile) -> dict[str, object]:
    """What the marker file records: an install of another recipe or version is rebuilt."""
    return {
        "recipe": RECIPE_NUMBER,
        "opensearch": profile.version,
        "plugins": profile.plugin_version,
        "pytorch": f"{v.PYTORCH_VERSION}-{v.PYTORCH_FLAVOR}",
    }


def is_provisioned(layout: NodeLayout, profile: v.NodeProfile) -> bool:
    """True when a complete install of the current recipe is in place."""
    try:
        return json.loads(layout.marker.read_text()) == recipe(profile) and layout.home.is_dir()
    except (OSError, ValueError):
        return False


def provision(layout: NodeLayout, profile: v.NodeProfile) -> None:
    """Download and assemble the node unless a complete install is already there."""
    make_traversable_dir(layout.node_dir)
    with exclusive_lock(layout.lock_file, f"Waiting for another process provisioning {layout.node_dir}"):
        if is_provisioned(layout, profile):
            return
        logger.info("Provisioning OpenSearch %s into %s (first time only)", profile.version, layout.node_dir)
        java_home = find_java_home(profile)
        staging = layout.node_dir / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        downloads = staging / "downloads"
        module_jars = [module.coordinate(profile.version) for module in profile.modules]
        zips = [profile.core_zip, *profile.plugin_zips, v.PYTORCH_NATIVE_JAR, v.PYTORCH_JNI_JAR]
        logger.info("Downloading OpenSearch, plugins and PyTorch natives with Maven (about 700 MB)")
        _download(downloads, zips, transitive=module_jars)
        _extract_zip(downloads / v.artifact_file_name(profile.core_zip), staging)
        home = staging / layout.home.name
        for module in profile.modules:
            _build_module(module, downloads, home / "modules" / module.name, profile.version)
        _install_plugins(downloads, home, java_home, profile)
        _seed_pytorch(downloads, pytorch_dir(home))
        layout.marker.unlink(missing_ok=True)
        shutil.rmtree(layout.home, ignore_errors=True)
        home.rename(layout.home)
        shutil.rmtree(staging)
        if running_as_root():
            give_to_node_user(layout.home)
        write_json_atomically(layout.marker, recipe(profile))
        logger.info("Provisioned %s", layout.home)


def ensure_pytorch_seeded(layout: NodeLayout) -> None:
    """
    Re-seed the PyTorch natives when they are missing or incomplete (e.g. after data/ was removed).

    Without them every model deploy fails with "Offline model is enabled.", although the node starts green.
    """
    target = pytorch_dir(layout.home)
    if is_pytorch_seeded(target):
        return
    logger.info("PyTorch natives missing or incomplete in %s (was data/ removed?); seeding them again", target)
    staging = layout.node_dir / "staging-pytorch"
    shutil.rmtree(staging, ignore_errors=True)
    _download(staging / "downloads", [v.PYTORCH_NATIVE_JAR, v.PYTORCH_JNI_JAR])
    seeded = staging / target.name
    _seed_pytorch(staging / "downloads", seeded)
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    seeded.rename(target)
    shutil.rmtree(staging)
    if running_as_root():
        give_to_node_user(layout.data_dir)


def is_pytorch_seeded(target: Path) -> bool:
    """True when every file the manifest lists is there with its recorded size."""
    try:
        files = json.loads((target / SEED_MANIFEST).read_text())
        return bool(files) and all((target / name).stat().st_size == size for name, size in files.items())
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def _download(downloads: Path, coordinates: Sequence[v.Coordinate], transitive: Sequence[v.Coordinate] = ()) -> None:
    """
    One Maven run fetches every artifact (into ~/.m2, then copied to `downloads`).

    `coordinates` are taken alone; `transitive` ones bring their dependencies (e.g. painless-spi, antlr4, asm),
    which the modules built from them need.
    """
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PrerequisiteError(
            "Maven (`mvn`) not found: install it to provision the test node, or set OPENSEARCH_URL."
        )
    downloads.mkdir(parents=True)
    pom = downloads.parent / "pom.xml"
    pom.write_text(_render_download_pom(coordinates, transitive))
    goal = f"{v.MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies"
    command = [mvn, "-B", "-q", "-f", str(pom), goal, "-DincludeScope=runtime", f"-DoutputDirectory={downloads}"]
    _run(command, what="Maven download")


def _render_download_pom(coordinates: Sequence[v.Coordinate], transitive: Sequence[v.Coordinate]) -> str:
    """A throw-away pom whose dependencies are exactly the artifacts we need."""
    no_transitive = "<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>"
    entries = []
    for coordinate in [*coordinates, *transitive]:
        group, artifact, version, packaging, classifier = coordinate
        entries.append(
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>"
            f"<type>{packaging}</type>"
            + (f"<classifier>{classifier}</classifier>" if classifier else "")
            + ("" if coordinate in transitive else no_transitive)
            + "</dependency>"
        )
    dependencies = "\n    ".join(entries)
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.opensearch-pretrained-haystack</groupId>
  <artifactId>test-node-downloads</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    {dependencies}
  </dependencies>
</project>
"""


def _extract_zip(archive: Path, target: Path) -> None:
    """Unzip keeping the Unix permission bits (zipfile drops them, and bin/ scripts must stay executable)."""
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            path = Path(zipped.extract(member, target))
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def _build_module(module: v.JarModule, downloads: Path, module_dir: Path, version: str) -> None:
    """Lay out modules/<name>/ from Maven jars, as the full distribution ships it (core modules have no zip)."""
    module_dir.mkdir(parents=True)
    for jar in downloads.glob("*.jar"):
        if jar.name.startswith(module.jar_prefixes):
            shutil.copy2(jar, module_dir / jar.name)
    descriptor = render_plugin_descriptor(module.name, f"The {module.name} module", version, module.classname)
    (module_dir / "plugin-descriptor.properties").write_text(descriptor)
    (module_dir / "plugin-security.policy").write_text(MODULE_SECURITY_POLICIES[module.name])


def _install_plugins(downloads: Path, home: Path, java_home: Path, profile: v.NodeProfile) -> None:
    """Install the plugin zips in dependency order with OpenSearch's own installer."""
    env = {**os.environ, "JAVA_HOME": str(java_home), "OPENSEARCH_JAVA_HOME": str(java_home)}
    for coordinate in profile.plugin_zips:
        zip_path = downloads / v.artifact_file_name(coordinate)
        logger.info("Installing plugin %s", coordinate[1])
        command = [str(home / "bin" / "opensearch-plugin"), "install", "--batch", zip_path.as_uri()]
        _run(command, what=f"Installing plugin {coordinate[1]}", env=env)


def pytorch_dir(home: Path) -> Path:
    """Where the seeded PyTorch natives live: DJL's own cache layout under the ML Commons cache (path.data)."""
    return home / "data" / "ml_cache" / "pytorch" / f"{v.PYTORCH_VERSION}-{v.PYTORCH_FLAVOR}-linux-x86_64"


def _seed_pytorch(downloads: Path, target: Path) -> None:
    """
    Put the PyTorch natives and DJL's JNI library (named ``<djl version>-libdjl_torch.so``) in `target`.

    The manifest is written last, so an interrupted seeding is seen as incomplete and done again.
    """
    target.mkdir(parents=True)
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_NATIVE_JAR)) as native:
        for member in native.infolist():
            name = Path(member.filename).name
            if ".so" in name:
                (target / name).write_bytes(native.read(member))
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_JNI_JAR)) as jni:
        library = jni.read(f"jnilib/linux-x86_64/{v.PYTORCH_FLAVOR}/libdjl_torch.so")
        (target / f"{v.DJL_VERSION}-libdjl_torch.so").write_bytes(library)
    files = {path.name: path.stat().st_size for path in target.iterdir()}
    write_json_atomically(target / SEED_MANIFEST, files)


def give_to_node_user(path: Path) -> None:
    """chown -R to the unprivileged user that runs the node (created if missing)."""
    ensure_node_user()
    _run(["chown", "-R", f"{RUN_AS_USER}:{RUN_AS_USER}", str(path)], what=f"chown {path}")


def ensure_node_user() -> None:
    """Create the system user `opensearch` when root needs it and it does not exist."""
    if subprocess.run(["id", "-u", RUN_AS_USER], capture_output=True, check=False).returncode != 0:
        logger.info("Creating system user %s", RUN_AS_USER)
        _run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS_USER],
            what=f"useradd {RUN_AS_USER}",
        )


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise NodeError(f"{what} failed (exit {result.returncode}):\n{tail}")
