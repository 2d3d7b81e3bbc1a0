"""A real single-node OpenSearch 2.19.1 (k-NN, ML Commons, neural-search) for tests and local use.

    url = start()     # provisions on first use (Maven), then starts and waits until green
    status()          # the URL if running, else None
    stop()            # SIGTERM, then SIGKILL; nothing left behind
"""

from opensearch_pretrained_haystack.node.errors import NodeError, PrerequisiteError
from opensearch_pretrained_haystack.node.process import TestNode

__all__ = ["NodeError", "PrerequisiteError", "TestNode", "start", "status", "stop"]


def start(node_dir: str | None = None, heap: str = "2g", timeout: float = 180.0) -> str:
    """Start the node (provisioning it the first time) and return its URL once the cluster is green."""
    return TestNode(node_dir, heap=heap, start_timeout=timeout).start()


def stop(node_dir: str | None = None) -> bool:
    """Stop the node; False when none was running."""
    return TestNode(node_dir).stop()


def status(node_dir: str | None = None) -> str | None:
    """The running node's URL, or None."""
    return TestNode(node_dir).status()
