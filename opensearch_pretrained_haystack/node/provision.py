"""Downloading OpenSearch and its plugins with Maven and assembling them into the node directory.

Provisioning is idempotent: everything is assembled in a staging directory, moved into place, and only
then is the marker file written.  A run that was interrupted leaves no marker, so the next run starts over
instead of trusting a half-built install.
"""

import fcntl
import json
import logging
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opensearch_pretrained_haystack.node import versions as v
from opensearch_pretrained_haystack.node.config import MODULE_SECURITY_POLICIES, render_plugin_descriptor
from opensearch_pretrained_haystack.node.errors import NodeError, PrerequisiteError
from opensearch_pretrained_haystack.node.java import find_java_home
from opensearch_pretrained_haystack.node.paths import (
    RUN_AS_USER,
    NodeLayout,
    make_traversable_dir,
    running_as_root,
    write_json_atomically,
)

logger = logging.getLogger(__name__)

# Bump when the assembly recipe changes, so existing installs are rebuilt.
RECIPE = {
    "recipe": 3,
    "opensearch": v.OPENSEARCH_VERSION,
    "plugins": v.PLUGIN_VERSION,
    "pytorch": f"{v.PYTORCH_VERSION}-{v.PYTORCH_FLAVOR}",
}


def is_provisioned(layout: NodeLayout) -> bool:
    """True when a complete install of the current recipe is in place."""
    try:
        return json.loads(layout.marker.read_text()) == RECIPE and layout.home.is_dir()
    except (OSError, ValueError):
        return False


def provision(layout: NodeLayout) -> None:
    """Download and assemble the node unless a complete install is already there."""
    make_traversable_dir(layout.node_dir)
    with _exclusive_lock(layout.lock_file):
        if is_provisioned(layout):
            return
        logger.info("Provisioning OpenSearch %s into %s (first time only)", v.OPENSEARCH_VERSION, layout.node_dir)
        java_home = find_java_home()
        staging = layout.node_dir / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        downloads = staging / "downloads"
        _download(downloads)
        _extract_zip(downloads / v.artifact_file_name(v.CORE_ZIP), staging)
        home = staging / layout.home.name
        for module in v.MODULES:
            _build_module(module, downloads, home / "modules" / module.name)
        _install_plugins(downloads, home, java_home)
        _seed_pytorch(downloads, pytorch_dir(home))
        layout.marker.unlink(missing_ok=True)
        shutil.rmtree(layout.home, ignore_errors=True)
        home.rename(layout.home)
        shutil.rmtree(staging)
        if running_as_root():
            give_to_node_user(layout.home)
        write_json_atomically(layout.marker, RECIPE)
        logger.info("Provisioned %s", layout.home)


def _download(downloads: Path) -> None:
    """One Maven run fetches every zip and jar (into ~/.m2, then copied to `downloads`)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PrerequisiteError(
            "Maven (`mvn`) not found: install it to provision the test node, or set OPENSEARCH_URL."
        )
    downloads.mkdir(parents=True)
    pom = downloads.parent / "pom.xml"
    pom.write_text(_render_download_pom())
    logger.info("Downloading OpenSearch, plugins and PyTorch natives with Maven (about 600 MB)")
    goal = f"{v.MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies"
    command = [mvn, "-B", "-q", "-f", str(pom), goal, "-DincludeScope=runtime", f"-DoutputDirectory={downloads}"]
    _run(command, what="Maven download")


def _render_download_pom() -> str:
    """A throw-away pom whose dependencies are exactly the artifacts we need.

    The zips and native jars are taken without their dependencies; the module jars bring theirs
    (e.g. painless-spi, antlr4, asm), which the modules need.
    """
    no_transitive = "<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>"
    entries = []
    module_jars = [module.coordinate for module in v.MODULES]
    for coordinate in [v.CORE_ZIP, *v.PLUGIN_ZIPS, v.PYTORCH_NATIVE_JAR, v.PYTORCH_JNI_JAR, *module_jars]:
        group, artifact, version, packaging, classifier = coordinate
        entries.append(
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>"
            f"<type>{packaging}</type>"
            + (f"<classifier>{classifier}</classifier>" if classifier else "")
            + ("" if coordinate in module_jars else no_transitive)
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


def _build_module(module: v.JarModule, downloads: Path, module_dir: Path) -> None:
    """Lay out modules/<name>/ from Maven jars, as the full distribution ships it (core modules have no zip)."""
    module_dir.mkdir(parents=True)
    for jar in downloads.glob("*.jar"):
        if jar.name.startswith(module.jar_prefixes):
            shutil.copy2(jar, module_dir / jar.name)
    descriptor = render_plugin_descriptor(
        module.name, f"The {module.name} module", v.OPENSEARCH_VERSION, module.classname
    )
    (module_dir / "plugin-descriptor.properties").write_text(descriptor)
    (module_dir / "plugin-security.policy").write_text(MODULE_SECURITY_POLICIES[module.name])


def _install_plugins(downloads: Path, home: Path, java_home: Path) -> None:
    """Install the plugin zips in dependency order with OpenSearch's own installer."""
    env = {**os.environ, "JAVA_HOME": str(java_home), "OPENSEARCH_JAVA_HOME": str(java_home)}
    for coordinate in v.PLUGIN_ZIPS:
        zip_path = downloads / v.artifact_file_name(coordinate)
        logger.info("Installing plugin %s", coordinate[1])
        command = [str(home / "bin" / "opensearch-plugin"), "install", "--batch", zip_path.as_uri()]
        _run(command, what=f"Installing plugin {coordinate[1]}", env=env)


def pytorch_dir(home: Path) -> Path:
    """Where the seeded PyTorch natives live: DJL's own cache layout under the ML Commons cache (path.data)."""
    return home / "data" / "ml_cache" / "pytorch" / f"{v.PYTORCH_VERSION}-{v.PYTORCH_FLAVOR}-linux-x86_64"


def _seed_pytorch(downloads: Path, target: Path) -> None:
    """Put the PyTorch natives and DJL's JNI library (named ``<djl version>-libdjl_torch.so``) in `target`."""
    target.mkdir(parents=True)
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_NATIVE_JAR)) as native:
        for member in native.infolist():
            name = Path(member.filename).name
            if ".so" in name:
                (target / name).write_bytes(native.read(member))
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_JNI_JAR)) as jni:
        library = jni.read(f"jnilib/linux-x86_64/{v.PYTORCH_FLAVOR}/libdjl_torch.so")
        (target / f"{v.DJL_VERSION}-libdjl_torch.so").write_bytes(library)


def give_to_node_user(path: Path) -> None:
    """chown -R to the unprivileged user that runs the node (created if missing)."""
    ensure_node_user()
    _run(["chown", "-R", f"{RUN_AS_USER}:{RUN_AS_USER}", str(path)], what=f"chown {path}")


def ensure_node_user() -> None:
    """Create the system user `opensearch` when root needs it and it does not exist."""
    if subprocess.run(["id", "-u", RUN_AS_USER], capture_output=True, check=False).returncode != 0:
        logger.info("Creating system user %s", RUN_AS_USER)
        _run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
              RUN_AS_USER], what=f"useradd {RUN_AS_USER}")


@contextmanager
def _exclusive_lock(lock_file: Path) -> Iterator[None]:
    """Serialize provisioning between processes (e.g. two test sessions started at once)."""
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise NodeError(f"{what} failed (exit {result.returncode}):\n{tail}")
