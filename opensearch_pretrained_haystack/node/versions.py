"""Pinned versions and Maven coordinates of everything the node is assembled from.

All OpenSearch pieces must share one version: plugins check ``opensearch.version`` exactly.
"""

from dataclasses import dataclass

# (groupId, artifactId, version, packaging, classifier)
Coordinate = tuple[str, str, str, str, str]

OPENSEARCH_VERSION = "2.19.1"
PLUGIN_VERSION = f"{OPENSEARCH_VERSION}.0"

CORE_ZIP: Coordinate = ("org.opensearch.distribution.integ-test-zip", "opensearch", OPENSEARCH_VERSION, "zip", "")

# Installed in this order: each one extends the ones before it (k-NN needs lang-painless, ML needs job-scheduler,
# neural-search needs k-NN).
PLUGIN_ZIPS: list[Coordinate] = [
    ("org.opensearch.plugin", artifact, PLUGIN_VERSION, "zip", "")
    for artifact in ("opensearch-job-scheduler", "opensearch-knn", "opensearch-ml-plugin", "neural-search")
]


@dataclass(frozen=True)
class JarModule:
    """A core module the integ-test zip lacks, rebuilt from its Maven jar and that jar's dependencies."""

    name: str
    coordinate: Coordinate
    classname: str
    jar_prefixes: tuple[str, ...]  # which downloaded jars belong in modules/<name>/


MODULES = (
    # k-NN extends lang-painless: without it the k-NN plugin does not install.
    JarModule(
        "lang-painless",
        ("org.opensearch.plugin", "lang-painless", OPENSEARCH_VERSION, "jar", ""),
        "org.opensearch.painless.PainlessPlugin",
        ("lang-painless-", "opensearch-scripting-painless-spi-", "antlr4-runtime-", "asm-"),
    ),
    # ML Commons deletes a model's chunks with delete-by-query, which lives in the reindex module.
    JarModule(
        "reindex",
        ("org.opensearch.plugin", "reindex-client", OPENSEARCH_VERSION, "jar", ""),
        "org.opensearch.index.reindex.ReindexPlugin",
        ("reindex-client-", "opensearch-rest-client-", "opensearch-ssl-config-", "httpclient-", "httpcore-",
         "httpasyncclient-", "commons-codec-", "commons-logging-"),
    ),
    # Neural sparse indices map token weights as rank_features, a field type of the mapper-extras module.
    JarModule(
        "mapper-extras",
        ("org.opensearch.plugin", "mapper-extras-client", OPENSEARCH_VERSION, "jar", ""),
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        ("mapper-extras-client-",),
    ),
)

# ML Commons 2.19 runs DJL 0.31.1 and asks it for PyTorch 1.13.1, which DJL downloads at deploy time (and
# fails offline).  Maven Central has no DJL 0.31.x JNI library at all, and none for 1.13.1 after DJL 0.22
# (whose JNI lacks methods 0.31.1 calls).  DJL 0.32.0's JNI has exactly the native methods of 0.31.1 (checked
# with javap), so we seed PyTorch 2.5.1 (cxx11 "cpu" flavor) with that JNI library and point DJL at it with
# -DPYTORCH_LIBRARY_PATH, which bypasses the version DJL was asked for.
DJL_VERSION = "0.31.1"
PYTORCH_VERSION = "2.5.1"
PYTORCH_FLAVOR = "cpu"
PYTORCH_NATIVE_JAR: Coordinate = ("ai.djl.pytorch", "pytorch-native-cpu", PYTORCH_VERSION, "jar", "linux-x86_64")
PYTORCH_JNI_JAR: Coordinate = ("ai.djl.pytorch", "pytorch-jni", f"{PYTORCH_VERSION}-0.32.0", "jar", "")

MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"


def artifact_file_name(coordinate: Coordinate) -> str:
    """The file name maven-dependency-plugin's copy-dependencies gives an artifact."""
    _group, artifact, version, packaging, classifier = coordinate
    suffix = f"-{classifier}" if classifier else ""
    return f"{artifact}-{version}{suffix}.{packaging}"
