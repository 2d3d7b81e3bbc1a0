"""The `opensearch-pretrained` command line."""

import argparse

from opensearch_pretrained_haystack.node.cli import add_node_command


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen subcommand; returns the exit code."""
    parser = argparse.ArgumentParser(prog="opensearch-pretrained")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_node_command(subparsers)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
