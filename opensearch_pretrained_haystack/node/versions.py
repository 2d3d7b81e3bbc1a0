"""Pinned versions and Maven coordinates of everything the node is assembled from.

All OpenSearch pieces must share one version: plugins check ``opensearch.version`` exactly.
"""

OPENSEARCH_VERSION = "2.19.1"
PLUGIN_VERSION = f"{OPENSEARCH_VERSION}.0"

CORE_ZIP = ("org.opensearch.distribution.integ-test-zip", "opensearch", OPENSEARCH_VERSION, "zip", "")

# Installed in this order: each one extends the ones before it (k-NN needs lang-painless, ML needs job-scheduler,
# neural-search needs k-NN).
PLUGIN_ZIPS = [
    ("org.opensearch.plugin", artifact, PLUGIN_VERSION, "zip", "")
    for artifact in ("opensearch-job-scheduler", "opensearch-knn", "opensearch-ml-plugin", "neural-search")
]

# The integ-test zip lacks the lang-painless module; it is rebuilt from these jars (and their dependencies).
PAINLESS_JAR = ("org.opensearch.plugin", "lang-painless", OPENSEARCH_VERSION, "jar", "")
PAINLESS_CLASSNAME = "org.opensearch.painless.PainlessPlugin"

# ML Commons 2.19 runs DJL 0.31.1 with PyTorch 1.13.1 and downloads the natives at deploy time, which fails
# offline.  Maven Central has the 1.13.1 natives only in the cxx11 ("cpu") flavor, and a 1.13.1 JNI library
# only up to DJL 0.22.0, so we seed those and force the flavor with -DPYTORCH_FLAVOR=cpu.
DJL_VERSION = "0.31.1"
PYTORCH_VERSION = "1.13.1"
PYTORCH_FLAVOR = "cpu"
PYTORCH_NATIVE_JAR = ("ai.djl.pytorch", "pytorch-native-cpu", PYTORCH_VERSION, "jar", "linux-x86_64")
PYTORCH_JNI_JAR = ("ai.djl.pytorch", "pytorch-jni", f"{PYTORCH_VERSION}-0.22.0", "jar", "")

MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"


def artifact_file_name(coordinate: tuple[str, str, str, str, str]) -> str:
    """The file name maven-dependency-plugin's copy-dependencies gives an artifact."""
    _group, artifact, version, packaging, classifier = coordinate
    suffix = f"-{classifier}" if classifier else ""
    return f"{artifact}-{version}{suffix}.{packaging}"
