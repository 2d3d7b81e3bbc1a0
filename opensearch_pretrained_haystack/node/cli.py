"""`opensearch-pretrained node start|stop|status`: the test node from a shell.

Only the cluster URL goes to stdout (as the last line), so scripts can do
``export OPENSEARCH_URL=$(opensearch-pretrained node start)``; progress and errors go to stderr.
"""

import argparse
import logging
import sys

from opensearch_pretrained_haystack.node.errors import NodeError
from opensearch_pretrained_haystack.node.process import TestNode


def add_node_command(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register the `node` subcommand; the main CLI runs it with ``args.handler(args)`` (an exit code)."""
    parser = subparsers.add_parser(
        "node",
        help="run a local OpenSearch 2.19.1 test node (k-NN, ML Commons, neural-search)",
        description="Provision (first time, with Maven), start, inspect or stop a local single-node OpenSearch.",
    )
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument(
        "--node-dir", help="where the node lives (default: $OPENSEARCH_PRETRAINED_NODE_DIR, else the user cache)"
    )
    parser.add_argument("--heap", default="2g", help="JVM heap, e.g. 2g (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for green (default: %(default)s)")
    parser.set_defaults(handler=run_node_command)


def run_node_command(args: argparse.Namespace) -> int:
    """Run one action; return the process exit code."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    node = TestNode(args.node_dir, heap=args.heap, start_timeout=args.timeout)
    try:
        if args.action == "start":
            print(node.start())
            return 0
        if args.action == "status":
            url = node.status()
            if url is None:
                print("OpenSearch test node is not running; start it with `opensearch-pretrained node start`.",
                      file=sys.stderr)
                return 1
            print(url)
            return 0
        if not node.stop():
            print("OpenSearch test node was not running.", file=sys.stderr)
        return 0
    except NodeError as error:
        first_line = str(error).splitlines()[0]  # the rest (a log tail) is in the log file the line names
        print(f"error: {first_line}", file=sys.stderr)
        return 1
