"""Where the node lives, and the state file that other processes read."""

import os
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.node import paths
from opensearch_pretrained_haystack.node.state import NodeState, clear_state, read_state, write_state
from opensearch_pretrained_haystack.node.versions import PROFILES

VERSIONS = pytest.mark.parametrize("version", list(PROFILES))


@VERSIONS
def test_env_var_holds_one_node_dir_per_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, version: str) -> None:
    monkeypatch.setenv(paths.NODE_DIR_ENV, str(tmp_path / "nodes"))
    assert paths.default_node_dir(version) == tmp_path / "nodes" / version


@VERSIONS
def test_root_gets_a_directory_the_node_user_can_traverse(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.delenv(paths.NODE_DIR_ENV, raising=False)
    monkeypatch.setattr(paths, "running_as_root", lambda: True)
    monkeypatch.setattr(paths, "user_cache_dir", lambda name: f"/root/.cache/{name}")
    assert paths.default_node_dir(version) == Path(f"/var/cache/opensearch-pretrained-haystack/node/{version}")


@VERSIONS
def test_other_users_get_their_cache_dir(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.delenv(paths.NODE_DIR_ENV, raising=False)
    monkeypatch.setattr(paths, "running_as_root", lambda: False)
    monkeypatch.setattr(paths, "user_cache_dir", lambda name: f"/home/ann/.cache/{name}")
    assert paths.default_node_dir(version) == Path(f"/home/ann/.cache/opensearch-pretrained-haystack/node/{version}")


@VERSIONS
def test_layout_names_the_install_after_its_version(tmp_path: Path, version: str) -> None:
    layout = paths.NodeLayout(tmp_path, version)
    assert layout.home == tmp_path / f"opensearch-{version}"
    assert layout.data_dir == layout.home / "data"


def test_make_traversable_dir_ignores_the_umask(tmp_path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        paths.make_traversable_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "a" / "b").stat().st_mode & 0o777 == 0o755


def test_state_round_trips_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    state = NodeState(pid=123, url="http://127.0.0.1:9200", started_at=1.5)
    write_state(tmp_path / "state.json", state)
    assert read_state(tmp_path / "state.json") == state
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    clear_state(tmp_path / "state.json")
    assert read_state(tmp_path / "state.json") is None


@pytest.mark.parametrize("content", ["", "{", '{"pid": 1}', "[]"])
def test_unreadable_state_counts_as_none(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content)
    assert read_state(tmp_path / "state.json") is None
