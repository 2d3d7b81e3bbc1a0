"""Finding a JDK that can run OpenSearch 2.19 (it has no bundled JDK in the Maven distribution)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from opensearch_pretrained_haystack.node.errors import PrerequisiteError

# 2.19 needs the SecurityManager, which Java 24 removed; 17 is the oldest JDK we test with.
MIN_JAVA, MAX_JAVA = 17, 23


def find_java_home() -> Path:
    """The JDK from $OPENSEARCH_JAVA_HOME, $JAVA_HOME or `java` on PATH, checked to be Java 17-23."""
    java_home = _candidate_java_home()
    major = java_major_version(java_home / "bin" / "java")
    if not MIN_JAVA <= major <= MAX_JAVA:
        raise PrerequisiteError(
            f"Java {major} at {java_home} cannot run OpenSearch 2.19 (it needs Java {MIN_JAVA}-{MAX_JAVA}); "
            "set JAVA_HOME to a JDK 17 or 21."
        )
    return java_home


def _candidate_java_home() -> Path:
    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(variable)
        if value:
            if not (Path(value) / "bin" / "java").is_file():
                raise PrerequisiteError(f"${variable}={value} has no bin/java; point it at a JDK 17+.")
            return Path(value)
    java = shutil.which("java")
    if java is None:
        raise PrerequisiteError("Java not found: install a JDK 17+ (or set JAVA_HOME), or set OPENSEARCH_URL.")
    return Path(java).resolve().parent.parent


def java_major_version(java: Path) -> int:
    """The major version `java -version` reports ("1.8.0" counts as 8)."""
    output = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        raise PrerequisiteError(f"Could not read the Java version from `{java} -version`: {output.strip()!r}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major
