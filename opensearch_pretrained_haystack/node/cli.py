"""
`opensearch-pretrained node start|stop|status|reset [--version V]`: the test node from a shell.

Only the cluster URL goes to stdout (as the last line), so scripts can do
``export OPENSEARCH_URL=$(opensearch-pretrained node start)``; progress and errors go to stderr.
The node's process code is imported only when a `node` command runs: it needs POSIX, the main CLI does not.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from opensearch_pretrained_haystack.node.errors import NodeError
from opensearch_pretrained_haystack.node.versions import DEFAULT_VERSION, PROFILES


def node_parser() -> argparse.ArgumentParser:
    """The arguments of `opensearch-pretrained node ...`."""
    parser = argparse.ArgumentParser(
        prog="opensearch-pretrained node",
        description="Provision (first time, with Maven), start, inspect, stop or reset a local single-node "
        f"OpenSearch ({' or '.join(PROFILES)}; k-NN, ML Commons, neural-search). `reset` stops it and wipes its "
        "data (indices, models) but keeps the install.",
    )
    parser.add_argument("action", choices=["start", "stop", "status", "reset"])
    parser.add_argument(
        "--version",
        choices=list(PROFILES),
        default=DEFAULT_VERSION,
        help="OpenSearch version (default: %(default)s); each version has its own node",
    )
    parser.add_argument(
        "--node-dir",
        help="the directory holding one node directory per version "
        "(default: $OPENSEARCH_PRETRAINED_NODE_DIR, else the user cache)",
    )
    parser.add_argument("--heap", default="2g", help="JVM heap, e.g. 2g (default: %(default)s)")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for the node (default: %(default)s)"
    )
    return parser


def main(argv: list[str]) -> int:
    """Run `opensearch-pretrained node ARGV...`; return the process exit code."""
    return run_node_command(node_parser().parse_args(argv))


def run_node_command(args: argparse.Namespace) -> int:
    """Run one action; return the process exit code."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from opensearch_pretrained_haystack.node.process import TestNode

    node_dir = Path(args.node_dir) / args.version if args.node_dir else None
    try:
        node = TestNode(node_dir, heap=args.heap, start_timeout=args.timeout, version=args.version)
        if args.action == "start":
            print(node.start())
            return 0
        if args.action == "status":
            url = node.status()
            if url is None:
                start = "opensearch-pretrained node start" + _version_flag(args.version)
                print(f"OpenSearch {args.version} test node is not running; start it with `{start}`.", file=sys.stderr)
                return 1
            print(url)
            return 0
        if args.action == "reset":
            wiped = node.reset()
            print(
                f"OpenSearch {args.version} test node "
                + ("data wiped; the install is kept." if wiped else "had no data to wipe."),
                file=sys.stderr,
            )
            return 0
        if not node.stop():
            print(f"OpenSearch {args.version} test node was not running.", file=sys.stderr)
        return 0
    except NodeError as error:
        first_line = str(error).splitlines()[0]  # the rest (a log tail) is in the log file the line names
        print(f"error: {first_line}", file=sys.stderr)
        return 1


def _version_flag(version: str) -> str:
    return "" if version == DEFAULT_VERSION else f" --version {version}"
