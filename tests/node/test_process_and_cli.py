"""Node process bookkeeping and the CLI, without starting OpenSearch."""

import argparse
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.node import TestNode
from opensearch_pretrained_haystack.node.cli import add_node_command
from opensearch_pretrained_haystack.node.errors import PrerequisiteError
from opensearch_pretrained_haystack.node.java import find_java_home, java_major_version
from opensearch_pretrained_haystack.node.state import NodeState, read_state, write_state


def _fake_java(tmp_path: Path, version_line: str) -> Path:
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    java = java_home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return java_home


@pytest.mark.parametrize(
    ("line", "major"),
    [('openjdk version "17.0.15" 2025-04-15', 17), ('java version "1.8.0_392"', 8), ('openjdk version "25" 2025', 25)],
)
def test_java_major_version(tmp_path: Path, line: str, major: int) -> None:
    assert java_major_version(_fake_java(tmp_path, line) / "bin" / "java") == major


def test_too_new_java_is_refused_with_advice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "25" 2025-09-16')))
    monkeypatch.delenv("OPENSEARCH_JAVA_HOME", raising=False)
    with pytest.raises(PrerequisiteError, match="JAVA_HOME"):
        find_java_home()


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


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import argparse, sys\n"
        "from opensearch_pretrained_haystack.node.cli import add_node_command\n"
        "parser = argparse.ArgumentParser(); add_node_command(parser.add_subparsers(required=True))\n"
        "parsed = parser.parse_args(sys.argv[1:]); sys.exit(parsed.handler(parsed))\n"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


def test_cli_status_of_a_stopped_node_fails_with_one_line_and_no_stdout(tmp_path: Path) -> None:
    result = _cli("node", "status", "--node-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "not running" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_stop_of_a_stopped_node_succeeds(tmp_path: Path) -> None:
    assert _cli("node", "stop", "--node-dir", str(tmp_path)).returncode == 0


def test_cli_rejects_an_unknown_action() -> None:
    parser = argparse.ArgumentParser()
    add_node_command(parser.add_subparsers())
    with pytest.raises(SystemExit):
        parser.parse_args(["node", "restart"])
