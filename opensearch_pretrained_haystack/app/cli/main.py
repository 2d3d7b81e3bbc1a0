"""
The `opensearch-pretrained` command line: one subcommand per feature, each registered by its own module.

`node` is the exception: the test node is a development tool, so its code (POSIX-only) is imported only when a
`node` command runs, and the rest of the command line works on any platform.
"""

from __future__ import annotations

import argparse
import os
import sys

# A batch tool must work offline and quietly: Haystack's usage telemetry stays off unless the user turns it on.
# Set before Haystack is imported, which is when it reads the variable.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from opensearch_pretrained_haystack.lazy_torch import torch_deferred

with torch_deferred():  # Haystack would import PyTorch (4 s): only TorchScript models use it, and import it then
    from haystack.core.errors import PipelineRuntimeError

    from opensearch_pretrained_haystack.app.cli.batch_commands import (
        add_evaluate_command,
        add_index_command,
        add_search_command,
    )
    from opensearch_pretrained_haystack.app.cli.model_commands import add_model_commands
    from opensearch_pretrained_haystack.app.cli.parity_command import add_parity_command
    from opensearch_pretrained_haystack.errors import (
        EXIT_CODES_HELP,
        EXIT_FAILED,
        EXIT_INTERRUPTED,
        OpenSearchPretrainedError,
    )

NODE_COMMAND = "node"


def main(argv: list[str] | None = None) -> int:
    """
    Parse `argv` and run the chosen subcommand; returns the exit code.

    A user's mistake (unknown model, unreachable mirror, bad file) is one line on stderr, never a traceback;
    the exit code is the error's own (the tree and the codes are drawn in ``opensearch_pretrained_haystack.errors``).
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [NODE_COMMAND]:
        from opensearch_pretrained_haystack.node.cli import main as node_main

        return node_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="opensearch-pretrained",
        description="OpenSearch's pretrained models (embedders, cross-encoders, neural sparse), locally and in a "
        "cluster.",
        epilog=EXIT_CODES_HELP,
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_model_commands(subparsers)
    subparsers.add_parser(
        NODE_COMMAND,
        help="run a local OpenSearch test node: start|stop|status|reset [--version V] (see `node --help`)",
    )
    add_index_command(subparsers)
    add_search_command(subparsers)
    add_evaluate_command(subparsers)
    add_parity_command(subparsers)
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)  # each subcommand's handler returns its exit code
        return code
    except OpenSearchPretrainedError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except PipelineRuntimeError as error:  # a component of a search's pipeline failed: say why, as above
        cause = error.__cause__
        if not isinstance(cause, OpenSearchPretrainedError | OSError):
            raise
        print(f"error: {cause}", file=sys.stderr)
        return cause.exit_code if isinstance(cause, OpenSearchPretrainedError) else EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
