"""
`opensearch-pretrained models | download | embed`.

The catalog, the artifact cache and local embedding; and `models deployed|undeploy|delete|redeploy --opensearch URL`:
the cluster's models (see `cluster.lifecycle`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.app.batch.remote_model import ENV_CREDENTIALS
from opensearch_pretrained_haystack.cluster import lifecycle
from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
from opensearch_pretrained_haystack.cluster.ml_commons import MLCommonsClient
from opensearch_pretrained_haystack.errors import UsageError
from opensearch_pretrained_haystack.families import family_of

CLUSTER_ACTIONS = ("deployed", "undeploy", "delete", "redeploy")


def add_model_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `models`, `download` and `embed`; each handler returns an exit code."""
    models = subparsers.add_parser(
        "models",
        help="list the catalog of pretrained models, or (with --opensearch) the cluster's models",
        description="List every "
        "catalog model version: family (sentence-transformers embed, cross-encoders "
        "rerank, neural-sparse, sentence-highlighting), alias, version, formats, dimension, pooling, space type.",
    )
    models.add_argument(
        "action", nargs="?", choices=CLUSTER_ACTIONS,
        help="with --opensearch: list the cluster's models (deployed), or undeploy / delete / redeploy MODEL_ID",
    )  # fmt: skip
    models.add_argument("model_id", nargs="?", metavar="MODEL_ID")
    models.add_argument(
        "--opensearch", metavar="URL", help="the cluster; credentials from OPENSEARCH_USERNAME/PASSWORD"
    )
    models.add_argument("--ca-certs", metavar="PATH", help="CA bundle that signed the cluster's TLS certificate")
    models.add_argument("--insecure", action="store_true", help="do not verify the cluster's TLS certificate")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(handler=_models)

    download = subparsers.add_parser(
        "download",
        help="download and verify a model artifact into the cache",
        description="Fetch a model zip (from the artifacts site or a mirror), verify its "
        "size and SHA-256 against config.json, and print its cached path.",
    )
    _add_model_arguments(download)
    download.add_argument("--format", default="ONNX", choices=catalog.MODEL_FORMATS, help="default: %(default)s")
    download.set_defaults(handler=_download)

    embed = subparsers.add_parser(
        "embed",
        help="embed texts locally and print JSON",
        description="Embed texts with the model's ONNX artifact, exactly as ML Commons would, and print JSON.",
    )
    _add_model_arguments(embed)
    embed.add_argument("texts", nargs="+", metavar="TEXT")
    embed.add_argument("--prefix", default="", help="text put before each input (e.g. 'query: ')")
    embed.add_argument(
        "--format",
        default="ONNX",
        choices=catalog.MODEL_FORMATS,
        help="the catalog artifact to run: ONNX (onnxruntime) or TORCH_SCRIPT (the torch extra); a directory or zip "
        "says its own (default: %(default)s)",
    )
    embed.set_defaults(handler=_embed)


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", help="catalog name or alias (see `opensearch-pretrained models`), or a custom model dir"
    )
    parser.add_argument("--model-version", help="catalog version (default: the newest)")
    parser.add_argument(
        "--mirror", help="directory or URL laid out like the artifacts site ($OPENSEARCH_PRETRAINED_MIRROR)"
    )
    parser.add_argument("--cache-dir", help="artifact cache ($OPENSEARCH_PRETRAINED_CACHE, else the user cache dir)")


def _models(args: argparse.Namespace) -> int:
    if args.action is not None or args.opensearch is not None:
        return _cluster_models(args)
    rows = [
        {
            "alias": m.alias,
            "name": m.name,
            "family": m.family,
            "role": m.role,
            "task_type": m.task_type,
            "version": m.version,
            "search_with": m.search_with,
            "formats": list(m.formats),
            "dimension": m.dimension,
            "pooling_mode": m.pooling_mode,
            "normalize": m.normalize,
            "max_tokens": m.max_tokens,
            "space_type": m.space_type,
        }
        for m in catalog.list_models()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = (
        "family",
        "role",
        "alias",
        "version",
        "formats",
        "dim",
        "pooling",
        "normalize",
        "max_tokens",
        "space_type",
    )
    table = [header] + [_table_row(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _cluster_models(args: argparse.Namespace) -> int:
    """`models deployed|undeploy|delete|redeploy [MODEL_ID] --opensearch URL`."""
    if args.action is None or args.opensearch is None:
        raise UsageError(
            f"models {args.action or 'ACTION'}: give one of {', '.join(CLUSTER_ACTIONS)} and --opensearch URL."
        )
    if (args.action == "deployed") != (args.model_id is None):
        raise UsageError(
            "models deployed lists every model (no MODEL_ID)" if args.action == "deployed"
            else f"models {args.action} needs the MODEL_ID to {args.action}."
        )  # fmt: skip
    settings = ConnectionSettings(
        args.opensearch, http_auth=ENV_CREDENTIALS, verify_certs=not args.insecure, ca_certs=args.ca_certs
    )
    client = MLCommonsClient(settings.sync_client())
    try:
        if args.action == "deployed":
            _print_cluster_models(lifecycle.list_cluster_models(client), as_json=args.json)
        elif args.action == "undeploy":
            print(f"{args.model_id}: {lifecycle.undeploy_model(client, args.model_id)}")
        elif args.action == "delete":
            lifecycle.delete_model(client, args.model_id)
            print(f"{args.model_id}: deleted")
        else:
            print(f"{args.model_id}: {lifecycle.redeploy_model(client, args.model_id)}")
    finally:
        client.client.close()
    return 0


def _print_cluster_models(models: list[lifecycle.ClusterModel], *, as_json: bool) -> None:
    rows = [asdict(model) for model in models]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    header = ("model_id", "name", "version", "format", "function", "state", "by_package")
    table = [header] + [
        tuple("yes" if v is True else "no" if v is False else str(v) for v in row.values()) for row in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _table_row(row: dict[str, Any]) -> tuple[str, ...]:
    """
    Only families that pool (dense embedders) normalize and index vectors.

    For cross-encoders (which score pairs), sparse models and the sentence highlighter those columns are "-".
    """
    family = family_of(row["task_type"])
    embeds = family.pools
    return (
        row["family"],
        family.catalog_role or row["role"],
        row["alias"],
        row["version"],
        ",".join(row["formats"]),
        str(row["dimension"]) if row["dimension"] else "-",
        row["pooling_mode"] if embeds else "-",
        ("yes" if row["normalize"] else "no") if embeds else "-",
        str(row["max_tokens"]),
        row["space_type"] if embeds else "-",
    )


def _download(args: argparse.Namespace) -> int:
    from opensearch_pretrained_haystack.artifacts import fetch_artifact

    artifact = fetch_artifact(
        args.model,
        args.model_version,
        args.format,
        mirror=args.mirror,
        cache_dir=args.cache_dir,
        progress_bar=sys.stderr.isatty(),
    )
    print(f"{artifact.name} {artifact.version} {artifact.model_format}: sha256 {artifact.sha256}", file=sys.stderr)
    print(artifact.zip_path)
    return 0


def _embed(args: argparse.Namespace) -> int:
    from opensearch_pretrained_haystack.inference.text_embedding import local_embedder

    embedder = local_embedder(
        args.model,
        args.model_version,
        model_format=args.format,
        mirror=args.mirror,
        cache_dir=args.cache_dir,
        progress_bar=sys.stderr.isatty(),
    )
    vectors = embedder.embed([f"{args.prefix}{text}" for text in args.texts])
    print(
        json.dumps(
            {
                "model": embedder.name,
                "version": embedder.version,
                "dimension": embedder.dimension,
                "embeddings": vectors.tolist(),
            }
        )
    )
    return 0
