"""
`opensearch-pretrained verify-parity MODEL --opensearch URL`: does the cluster compute exactly like this package?

Deploys the model with the idempotent uploader (or takes `--model-id`), runs `parity.DEFAULT_TEXTS` through the same
artifact locally and in the cluster — embeddings (ONNX or TorchScript), cross-encoder logits against a fixed query,
or sparse `{token: weight}` maps — and prints the numbers; the exit status says pass (0) or fail (1), so a
deployment script can gate on it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from opensearch_pretrained_haystack.artifacts import ModelArtifact
    from opensearch_pretrained_haystack.cluster.sparse_operations import SparseTask
    from opensearch_pretrained_haystack.inference.cross_encoder import CrossEncoderRunner
    from opensearch_pretrained_haystack.parity import SparseEncoder


def add_parity_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `verify-parity`."""
    parser = subparsers.add_parser(
        "verify-parity",
        help="check that the cluster computes exactly like the local engine (every model family)",
        description="Deploy (or reuse) MODEL in the cluster, run a built-in set of texts (short, non-ASCII, empty, "
        "past the token limit) locally and in the cluster through the same artifact, and print max |diff| and "
        "PASS/FAIL: embeddings (and min cosine), cross-encoder logits, or sparse maps (and texts whose tokens differ).",
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
        help="the artifact format, run on both sides (neural-sparse models are TORCH_SCRIPT whatever is given); "
        "default %(default)s",
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
    from opensearch_pretrained_haystack.artifacts import resolve_artifact
    from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
    from opensearch_pretrained_haystack.cluster.ml_commons import MLCommonsClient
    from opensearch_pretrained_haystack.cluster.uploader import ModelRequest, upload_and_deploy

    if args.insecure and args.ca_certs:
        print(
            "error: --insecure turns certificate checks off and --ca-certs sets how to check: give one.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    tls = {"verify_certs": not args.insecure, "ca_certs": args.ca_certs}
    artifact = resolve_artifact(
        args.model,
        args.model_version,
        model_format=_format_of(args.model, args.model_version, args.format),
        mirror=args.mirror,
        cache_dir=args.cache_dir,
        progress_bar=sys.stderr.isatty(),
    )
    model_id = args.model_id
    if model_id is None:
        request = ModelRequest(
            args.model, args.model_version, artifact.model_format, args.source, args.mirror, args.cache_dir
        )
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
    remote_settings: dict[str, Any] = {"http_auth": ENV_CREDENTIALS, **tls}
    if artifact.task_type.startswith("SPARSE_"):
        passed, worst = _sparse_parity(args, artifact, model_id, remote_settings)
    else:
        passed, worst = _vector_parity(args, artifact, model_id, remote_settings)
    if passed:
        print(f"PASS (tolerance {args.tolerance:g})")
        return EXIT_OK
    print(f"FAIL (tolerance {args.tolerance:g}); worst text: {worst[:80]!r}")
    return EXIT_FAILED


def _format_of(model: str, version: str | None, requested: str) -> str:
    """The format to fetch: a catalog neural-sparse model exists only as TORCH_SCRIPT; others as requested."""
    try:
        entry = catalog.get_model(model, version)
    except Exception:  # a custom directory or zip says its own format; a bad name is reported by the resolver
        return requested
    return "TORCH_SCRIPT" if entry.task_type.startswith("SPARSE_") else requested


class _Logits:
    """A cross-encoder's logits of each text against `PARITY_QUERY`, as one-component vectors."""

    def __init__(self, score: Callable[[list[str]], np.ndarray]) -> None:
        self._score = score

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._score(texts), dtype=np.float32).reshape(-1, 1)


PARITY_QUERY = "What is OpenSearch?"


def _vector_parity(
    args: argparse.Namespace, artifact: ModelArtifact, model_id: str, settings: dict[str, Any]
) -> tuple[bool, str]:
    from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
    from opensearch_pretrained_haystack.parity import verify_parity

    remote = OpenSearchMLEmbedder(args.opensearch, model_id, **settings)
    try:
        if artifact.task_type == "TEXT_SIMILARITY":
            from functools import partial

            from opensearch_pretrained_haystack.cluster.text_similarity import predict_similarity

            cross_encoder = _local_cross_encoder(artifact)
            closing: Callable[[], None] = cross_encoder.close

            def remote_logits(texts: list[str]) -> np.ndarray:
                predict = partial(predict_similarity, model_id, PARITY_QUERY)
                outcomes = remote.embed_batches(texts, predict=predict)
                for outcome in outcomes:
                    if outcome.error is not None:
                        raise outcome.error
                return np.concatenate([o.vectors for o in outcomes if o.vectors is not None])

            local_logits = _Logits(lambda texts: cross_encoder.score(PARITY_QUERY, texts))
            report = verify_parity(local_logits, _Logits(remote_logits))
            what = f"cross-encoder logits against {PARITY_QUERY!r}"
        else:
            from opensearch_pretrained_haystack.inference.text_embedding import local_embedder

            embedder = local_embedder(artifact)
            closing = embedder.close
            report = verify_parity(embedder, remote)
            what = f"min cosine {report.min_cosine:.8f}"
        closing()
    finally:
        remote.close()
    print(
        f"{artifact.name} {artifact.version} local {artifact.model_format} vs cluster model {model_id}, "
        f"{report.n_texts} texts: max |diff| {report.max_abs_diff:.2e} (relative to the norm "
        f"{report.max_relative_diff:.2e}), {what}"
    )
    return report.passed(args.tolerance), report.worst_text


def _local_cross_encoder(artifact: ModelArtifact) -> CrossEncoderRunner:
    if artifact.model_format == "TORCH_SCRIPT":
        from opensearch_pretrained_haystack.inference.torchscript_cross_encoder import LocalTorchScriptCrossEncoder

        return LocalTorchScriptCrossEncoder(artifact)
    from opensearch_pretrained_haystack.inference.cross_encoder import LocalOnnxCrossEncoder

    return LocalOnnxCrossEncoder(artifact)


def _sparse_parity(
    args: argparse.Namespace, artifact: ModelArtifact, model_id: str, settings: dict[str, Any]
) -> tuple[bool, str]:
    from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
    from opensearch_pretrained_haystack.parity import verify_sparse_parity

    local: SparseEncoder
    if artifact.task_type == "SPARSE_TOKENIZE":
        from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseTokenizer

        local = SparseTokenizer.from_artifact(artifact)
    else:
        from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder

        local = LocalSparseEncoder(artifact)
    task: SparseTask = "SPARSE_TOKENIZE" if artifact.task_type == "SPARSE_TOKENIZE" else "SPARSE_ENCODING"
    remote = OpenSearchMLSparseEncoder(args.opensearch, model_id, task_type=task, **settings)
    try:
        report = verify_sparse_parity(local, remote)
    finally:
        remote.close()
        close = getattr(local, "close", None)
        if close is not None:
            close()
    print(
        f"{artifact.name} {artifact.version} local {artifact.task_type} vs cluster model {model_id}, "
        f"{report.n_texts} texts: {report.texts_with_other_tokens} with other tokens, max |diff| "
        f"{report.max_abs_diff:.2e} over the shared tokens"
    )
    return report.passed(args.tolerance), report.worst_text
