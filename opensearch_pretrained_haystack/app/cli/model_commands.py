"""`opensearch-pretrained models | download | embed`: the catalog, the artifact cache and local embedding."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.families import family_of


def add_model_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `models`, `download` and `embed`; each handler returns an exit code."""
    models = subparsers.add_parser(
        "models",
        help="list the catalog of pretrained models",
        description="List every "
        "catalog model version: family (sentence-transformers embed, cross-encoders "
        "rerank, neural-sparse, sentence-highlighting), alias, version, formats, dimension, pooling, space type.",
    )
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


def _table_row(row: dict[str, Any]) -> tuple[str, ...]:
    """Only families that pool (dense embedders) normalize and index vectors: for cross-encoders (which score
    pairs), sparse models and the sentence highlighter those columns are "-"."""
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
