"""The `opensearch-pretrained` command line: one subcommand per feature, each registered by its own module."""

from __future__ import annotations

import argparse
import os
import sys

# A batch tool must work offline and quietly: Haystack's usage telemetry stays off unless the user turns it on.
# Set before Haystack is imported, which is when it reads the variable.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from opensearch_pretrained_haystack.batch_cli import add_evaluate_command, add_index_command, add_search_command
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.model_commands import add_model_commands
from opensearch_pretrained_haystack.node.cli import add_node_command
from opensearch_pretrained_haystack.parity_command import add_parity_command


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen subcommand; returns the exit code.

    A user's mistake (unknown model, unreachable mirror, bad file) is one line on stderr, never a traceback.
    """
    parser = argparse.ArgumentParser(
        prog="opensearch-pretrained",
        description="OpenSearch's pretrained text-embedding models, locally and in a cluster.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_model_commands(subparsers)
    add_node_command(subparsers)
    add_index_command(subparsers)
    add_search_command(subparsers)
    add_evaluate_command(subparsers)
    add_parity_command(subparsers)
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)  # each subcommand's handler returns its exit code
        return code
    except (OpenSearchPretrainedError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
