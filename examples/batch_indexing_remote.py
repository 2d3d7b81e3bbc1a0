"""
A batch-indexing job against a cluster: the cluster's deployed model embeds every passage (the remote embedder).

    python examples/batch_indexing_remote.py [FILES...] --opensearch URL [--index NAME] [--mirror DIR]

Deploys the model (from --mirror if the cluster cannot download it), then runs the command line's job:

    opensearch-pretrained index FILES... --opensearch URL --index NAME --remote MODEL_ID

which splits the files into passages that fit the model, embeds them in the cluster and writes them in a stream.
Run it again after an interruption: passages already stored are skipped.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from cluster import add_cluster_arguments, deploy

from opensearch_pretrained_haystack.app.cli import main as cli

DATA = Path(__file__).parent / "data"


def main(argv: list[str] | None = None) -> int:
    """Deploy, then index the files; returns the command's exit code (0 when nothing failed)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=sorted(DATA.iterdir()))
    add_cluster_arguments(parser, index="opensearch-pretrained-remote-example")
    args = parser.parse_args(argv)
    model, model_id = deploy(args)

    command = [
        "index", *map(str, args.files), "--opensearch", args.opensearch, "--index", args.index,
        "--model", model.name, "--model-version", model.version, "--remote", model_id,
    ]  # fmt: skip
    print(f"opensearch-pretrained {shlex.join(command)}")
    return cli.main(command)


if __name__ == "__main__":
    raise SystemExit(main())
