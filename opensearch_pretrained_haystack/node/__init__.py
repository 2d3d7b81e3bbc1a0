"""
A real single-node OpenSearch (3.6.0 or 2.19.1, with k-NN, ML Commons, neural-search) for tests and local use.

    url = start()                   # provisions on first use (Maven), then starts and waits until ready
    url = start(version="2.19.1")   # the other supported line, in its own directory
    status()                        # the URL if running, else None
    stop()                          # SIGTERM, then SIGKILL; nothing left behind
    reset()                         # stop, wipe data/ (indices, models), keep the install

The process and provisioning modules are imported on first use: they need POSIX (flock, /proc), and importing
this package (the main CLI does) must work everywhere.
"""

from typing import TYPE_CHECKING, Any

from opensearch_pretrained_haystack.node.errors import NodeError, PrerequisiteError
from opensearch_pretrained_haystack.node.versions import DEFAULT_VERSION, PROFILES

if TYPE_CHECKING:
    from opensearch_pretrained_haystack.node.process import TestNode

__all__ = [
    "DEFAULT_VERSION",
    "PROFILES",
    "NodeError",
    "PrerequisiteError",
    "TestNode",
    "reset",
    "start",
    "status",
    "stop",
]


def __getattr__(name: str) -> Any:
    if name == "TestNode":
        from opensearch_pretrained_haystack.node.process import TestNode

        return TestNode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def start(node_dir: str | None = None, heap: str = "2g", timeout: float = 180.0, *, version: str | None = None) -> str:
    """Start the node (provisioning it the first time) and return its URL once all its primaries are active."""
    from opensearch_pretrained_haystack.node.process import TestNode

    return TestNode(node_dir, heap=heap, start_timeout=timeout, version=version).start()


def stop(node_dir: str | None = None, *, version: str | None = None) -> bool:
    """Stop the node; False when none was running."""
    from opensearch_pretrained_haystack.node.process import TestNode

    return TestNode(node_dir, version=version).stop()


def status(node_dir: str | None = None, *, version: str | None = None) -> str | None:
    """The running node's URL, or None."""
    from opensearch_pretrained_haystack.node.process import TestNode

    return TestNode(node_dir, version=version).status()


def reset(node_dir: str | None = None, *, version: str | None = None) -> bool:
    """Stop the node and wipe its data, keeping the install; False when there was no data."""
    from opensearch_pretrained_haystack.node.process import TestNode

    return TestNode(node_dir, version=version).reset()
