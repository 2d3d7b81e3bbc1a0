"""What the examples share: where the documents live (the embedded store file, or an OpenSearch index)."""

from __future__ import annotations

import argparse
from pathlib import Path

from haystack import Document

from opensearch_pretrained_haystack.app.batch import Target
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model

DEFAULT_STORE = Path("example-store.sqlite")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model/--model-version: which catalog model."""
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="catalog model (default: %(default)s)")
    parser.add_argument("--model-version", help="catalog version (default: the newest)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--model/--model-version and --store PATH | --opensearch URL --index NAME."""
    add_model_arguments(parser)
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE, help="embedded store file (default: %(default)s)")
    parser.add_argument("--opensearch", metavar="URL", help="use this cluster instead of the embedded store")
    parser.add_argument("--index", default="opensearch-pretrained-example", help="index name (default: %(default)s)")


def model_and_target(args: argparse.Namespace) -> tuple[PretrainedModel, Target]:
    """
    The catalog model and the target (an OpenSearch index, or the embedded store) the arguments name.

    :param args: The parsed command line.
    :returns: The model and the target.
    """
    model = get_model(args.model, args.model_version)
    if args.opensearch:
        return model, Target(hosts=args.opensearch, index=args.index)
    return model, Target(store_path=args.store)


def print_documents(documents: list[Document]) -> None:
    """One line per result: score, source file and the start of the passage."""
    for document in documents:
        print(f"{document.score:.3f}  {document.meta.get('file_path', document.id)}: {document.content[:90]!r}")
