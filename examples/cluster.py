"""What the cluster examples share: a cluster URL, an index, a mirror, and the model deployed in the cluster."""

from __future__ import annotations

import argparse

from common import add_model_arguments

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model


def add_cluster_arguments(parser: argparse.ArgumentParser, index: str) -> None:
    """--opensearch URL (required), --index NAME, --mirror DIR, --model/--model-version."""
    add_model_arguments(parser)
    parser.add_argument("--opensearch", metavar="URL", required=True, help="the cluster (with ML Commons)")
    parser.add_argument("--index", default=index, help="index name (default: %(default)s)")
    parser.add_argument(
        "--mirror",
        help="upload the model from this artifacts mirror (air-gapped clusters); else the cluster fetches it",
    )


def deploy(args: argparse.Namespace) -> tuple[PretrainedModel, str]:
    """The catalog model and its ML Commons model id, registered and deployed if it is not yet (idempotent)."""
    model = get_model(args.model, args.model_version)
    uploader = PretrainedModelUploader(
        args.opensearch, model.name, model.version, source="client" if args.mirror else "auto", mirror=args.mirror
    )
    model_id = uploader.run()["model_id"]
    print(f"{model.name} {model.version} is deployed as {model_id}")
    return model, model_id
