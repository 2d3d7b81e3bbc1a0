"""`opensearch-pretrained verify-parity MODEL --opensearch URL`: does the cluster embed exactly like this package?

Deploys the model with the idempotent uploader (or takes `--model-id`), embeds `parity.DEFAULT_TEXTS` locally and
in the cluster, and prints the numbers; the exit status says pass (0) or fail (1), so a deployment script can gate
on it.
"""

from __future__ import annotations

import argparse
import sys

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def add_parity_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `verify-parity`."""
    parser = subparsers.add_parser(
        "verify-parity",
        help="check that the cluster embeds exactly like the local engine",
        description="Deploy (or reuse) MODEL in the cluster, embed a built-in set of texts (short, non-ASCII, empty, "
        "past the token limit) locally and in the cluster, and print max |diff|, min cosine and PASS/FAIL.",
    )
    parser.add_argument("model", help="catalog name or alias, or a custom model directory")
    parser.add_argument(
        "--opensearch",
        metavar="URL",
        required=True,
        help="OpenSearch URL; credentials from OPENSEARCH_USERNAME/PASSWORD",
    )
    parser.add_argument("--model-id", help="an already deployed model to check (default: deploy MODEL)")
    parser.add_argument("--model-version", help="catalog version (default: the newest)")
    parser.add_argument(
        "--format",
        default="ONNX",
        choices=catalog.MODEL_FORMATS,
        help="the format deployed in the cluster (the local side is always ONNX); default %(default)s",
    )
    parser.add_argument(
        "--source",
        default="auto",
        choices=("auto", "cluster", "client"),
        help="how the model reaches the cluster (see PretrainedModelUploader); default %(default)s",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-5,
        help="largest |diff| relative to the vector norm that passes; default %(default)g",
    )
    parser.add_argument("--mirror", help="directory or URL laid out like the artifacts site")
    parser.add_argument("--cache-dir", help="artifact cache")
    parser.add_argument("--ca-certs", metavar="PATH", help="CA bundle that signed the cluster's TLS certificate")
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify the cluster's TLS certificate (trusted networks only)"
    )
    parser.set_defaults(handler=_verify_parity)


def _verify_parity(args: argparse.Namespace) -> int:
    from opensearch_pretrained_haystack.app.batch import ENV_CREDENTIALS
    from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
    from opensearch_pretrained_haystack.cluster.ml_commons import MLCommonsClient
    from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
    from opensearch_pretrained_haystack.cluster.uploader import ModelRequest, upload_and_deploy
    from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
    from opensearch_pretrained_haystack.parity import verify_parity

    if args.insecure and args.ca_certs:
        print(
            "error: --insecure turns certificate checks off and --ca-certs sets how to check: give one.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    tls = {"verify_certs": not args.insecure, "ca_certs": args.ca_certs}
    local = LocalOnnxEmbedder(
        args.model, args.model_version, mirror=args.mirror, cache_dir=args.cache_dir, progress_bar=sys.stderr.isatty()
    )
    model_id = args.model_id
    if model_id is None:
        request = ModelRequest(args.model, args.model_version, args.format, args.source, args.mirror, args.cache_dir)
        client = ConnectionSettings(args.opensearch, ENV_CREDENTIALS, timeout=120.0, **tls).sync_client()
        try:
            deployed = upload_and_deploy(MLCommonsClient(client), request)
        finally:
            client.close()
        model_id = deployed.model_id
        print(
            f"model {deployed.name} {deployed.version} {deployed.format}: {model_id} "
            f"({'reused' if deployed.reused else 'registered'}, {deployed.state})"
        )
    remote = OpenSearchMLEmbedder(args.opensearch, model_id, http_auth=ENV_CREDENTIALS, **tls)
    try:
        report = verify_parity(local, remote)
    finally:
        remote.close()
    passed = report.passed(args.tolerance)
    print(
        f"{local.name} {local.version} local ONNX vs cluster model {model_id}, {report.n_texts} texts: "
        f"max |diff| {report.max_abs_diff:.2e} (relative to the norm {report.max_relative_diff:.2e}), "
        f"min cosine {report.min_cosine:.8f}"
    )
    if passed:
        print(f"PASS (tolerance {args.tolerance:g})")
        return EXIT_OK
    print(f"FAIL (tolerance {args.tolerance:g}); worst text: {report.worst_text[:80]!r}")
    return EXIT_FAILED
