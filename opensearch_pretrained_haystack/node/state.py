"""The small JSON file that lets `status` and `stop` find a node that another process started."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from opensearch_pretrained_haystack.node.paths import write_json_atomically


@dataclass(frozen=True)
class NodeState:
    """What we need to reach and stop a running node."""

    pid: int
    url: str
    started_at: float


def read_state(path: Path) -> NodeState | None:
    """The recorded state, or None when there is none (or it is unreadable, which means the same)."""
    try:
        data = json.loads(path.read_text())
        return NodeState(pid=int(data["pid"]), url=str(data["url"]), started_at=float(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(path: Path, state: NodeState) -> None:
    """
    Record ``state`` at ``path`` atomically.

    :param path: The state file.
    :param state: The running node.
    """
    write_json_atomically(path, asdict(state))


def clear_state(path: Path) -> None:
    """
    Forget the recorded state (nothing to do if there is none).

    :param path: The state file.
    """
    path.unlink(missing_ok=True)
