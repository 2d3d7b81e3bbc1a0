"""
Where the node lives on disk, and who runs it.

OpenSearch refuses to run as root, so when we are root the node runs as the unprivileged
``opensearch`` user, and its directory must be traversable by that user: a directory under
``/root`` is not, so root gets ``/var/cache/opensearch-pretrained-haystack/node/<version>``.
Each version has its own node directory, so a 2.19.1 and a 3.6.0 node can live (and run) side by side.
"""

import json
import os
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

NODE_DIR_ENV = "OPENSEARCH_PRETRAINED_NODE_DIR"
ROOT_CACHE_DIR = Path("/var/cache/opensearch-pretrained-haystack")
RUN_AS_USER = "opensearch"


def running_as_root() -> bool:
    """True when the node has to be started as another user."""
    return os.geteuid() == 0


def nodes_base_dir() -> Path:
    """The directory that holds one node directory per version: $OPENSEARCH_PRETRAINED_NODE_DIR, else the cache."""
    override = os.environ.get(NODE_DIR_ENV)
    if override:
        return Path(override).expanduser().absolute()
    cache = Path(user_cache_dir("opensearch-pretrained-haystack"))
    if running_as_root() and cache.is_relative_to("/root"):
        cache = ROOT_CACHE_DIR
    return cache / "node"


def default_node_dir(version: str) -> Path:
    """The node directory of one OpenSearch version."""
    return nodes_base_dir() / version


class NodeLayout:
    """The files inside one node directory, named in one place."""

    def __init__(self, node_dir: Path, version: str) -> None:
        self.node_dir = node_dir
        self.home = node_dir / f"opensearch-{version}"
        self.data_dir = self.home / "data"
        self.marker = node_dir / "provisioned.json"
        self.state_file = node_dir / "state.json"
        self.lock_file = node_dir / ".lock"  # held while provisioning
        self.start_lock_file = node_dir / ".start.lock"  # held while starting, stopping or resetting
        self.console_log = self.home / "logs" / "console.log"
        self.config_file = self.home / "config" / "opensearch.yml"


def make_traversable_dir(directory: Path) -> None:
    """mkdir -p with mode 755, so the node user can reach a directory that root created."""
    missing = [parent for parent in [directory, *directory.parents] if not parent.exists()]
    for parent in reversed(missing):
        parent.mkdir()
        parent.chmod(0o755)  # mkdir's mode would be filtered by the umask


def write_json_atomically(path: Path, data: Any) -> None:
    """Write to a temporary file and rename it over `path`, so no reader ever sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(path)
