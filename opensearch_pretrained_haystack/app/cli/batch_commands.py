"""
`opensearch-pretrained index | search | evaluate`: batch indexing, searching and measuring from a shell.

Without `--opensearch` every command uses the embedded SQLite store (default `opensearch-pretrained-store.sqlite`
in the working directory; a store of the former JSON format is converted once), so the first command works on a
laptop with no cluster. Results go to stdout; progress bars and warnings go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from haystack import Document

from haystack_integrations.components.preprocessors.opensearch_pretrained.model_token_splitter import DEFAULT_OVERLAP
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    DEFAULT_BM25_WEIGHT,
    DEFAULT_FUSION,
    DEFAULT_PER_SOURCE,
    FUSIONS,
)
from opensearch_pretrained_haystack.app.batch import Target, index_sources, search
from opensearch_pretrained_haystack.app.batch.job import IndexingInterrupted
from opensearch_pretrained_haystack.app.batch.query import Highlight, Rerank
from opensearch_pretrained_haystack.app.batch.ray_options import ENGINES, RayOptions
from opensearch_pretrained_haystack.app.batch.remote_model import ENV_CREDENTIALS
from opensearch_pretrained_haystack.app.evaluation import DEFAULT_SPLIT, evaluate
from opensearch_pretrained_haystack.app.pipelines import DEFAULT_MODEL, MODES, Splitting
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
from opensearch_pretrained_haystack.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    OpenSearchPretrainedError,
)
from opensearch_pretrained_haystack.highlighting.documents import HIGHLIGHTS_KEY
from opensearch_pretrained_haystack.indices.knn import recorded_model
from opensearch_pretrained_haystack.indices.sparse import SparseEncoding
from opensearch_pretrained_haystack.text_analysis import ANALYZERS, DEFAULT_ANALYZER

DEFAULT_STORE = "opensearch-pretrained-store.sqlite"
# The default of earlier releases (a JSON file): converted into DEFAULT_STORE when that does not exist yet.
SNIPPET_CHARS = 100
Handler = Callable[[argparse.Namespace], int]


def add_index_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `index SOURCE... [--model M] [--store PATH | --opensearch URL --index NAME] [--remote MODEL_ID]`."""
    parser = subparsers.add_parser(
        "index",
        help="split, embed and store .txt/.md/.jsonl documents (embedded store file, or an OpenSearch index)",
        description="Streams documents through clean → split → embed → write. Re-running skips what is stored.",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help=".txt, .md or .jsonl files, or directories")
    _add_model_arguments(parser)
    _add_target_arguments(parser)
    _add_split_arguments(parser)
    parser.add_argument("--remote", metavar="MODEL_ID", help="embed in the cluster with this deployed ML Commons model")
    _add_sparse_arguments(parser, query=False)
    parser.add_argument(
        "--replicas", type=int, metavar="N", help="replicas of a new OpenSearch index (default: the cluster's default)"
    )
    parser.add_argument(
        "--compression", metavar="LEVEL",
        help="a new OpenSearch k-NN index keeps its graph on disk at this compression level (4x; 32x on 3.6+ for "
        "lucene): less memory, full-precision rescoring at query time (OpenSearch 2.17+)",
    )  # fmt: skip
    _add_engine_arguments(parser)
    parser.set_defaults(handler=_run_index)


def add_search_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `search "query" [--store PATH | --opensearch URL --index NAME] [--top-k K]`."""
    parser = subparsers.add_parser("search", help="print the best documents for a query (score, id, snippet)")
    parser.add_argument("query")
    _add_model_arguments(parser)
    _add_target_arguments(parser)
    parser.add_argument("--top-k", type=int, default=10, help="how many documents (default: %(default)s)")
    _add_sparse_arguments(parser, passages=False)
    _add_rerank_arguments(parser)
    _add_mode_arguments(parser)
    parser.add_argument(
        "--highlight",
        metavar="MODEL_ID|ALIAS",
        help="print each document's sentences that answer the query, found by the semantic highlighter: a catalog "
        "alias (opensearch-semantic-highlighter-v1) or directory runs locally (the torch extra), a model id in the "
        "cluster of --opensearch",
    )
    parser.set_defaults(handler=_run_search)


def add_evaluate_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `evaluate --dataset DIR [--model M] [--store PATH | --opensearch URL --index NAME] [--json]`."""
    parser = subparsers.add_parser(
        "evaluate",
        help="nDCG@10 and Recall@100 of a model and splitting setting on a BEIR-format data set",
        description="Indexes the corpus as `index` does, runs the judged queries, scores source documents.",
    )
    parser.add_argument(
        "--dataset", required=True, type=Path, help="BEIR directory (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)"
    )
    parser.add_argument(
        "--split", dest="qrels_split", default=DEFAULT_SPLIT, metavar="NAME",
        help="judgements to score against, qrels/NAME.tsv (default: %(default)s; tune on train, keep test back)",
    )  # fmt: skip
    _add_model_arguments(parser)
    _add_target_arguments(parser, store_default=None)
    _add_split_arguments(parser)
    _add_mode_arguments(parser)
    parser.add_argument("--json", action="store_true", help='print one JSON object with "ndcg@10" and "recall@100"')
    _add_sparse_arguments(parser)
    _add_rerank_arguments(parser)
    parser.set_defaults(handler=_run_evaluate)


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    shown = "the model the store file or index records, else " + DEFAULT_MODEL
    parser.add_argument("--model", help=f"catalog model name or alias (default: {shown})")
    parser.add_argument("--model-version", help="catalog version (default: the newest)")


def _add_target_arguments(parser: argparse.ArgumentParser, store_default: str | None = DEFAULT_STORE) -> None:
    where = parser.add_mutually_exclusive_group()
    shown = store_default or "a temporary file"
    where.add_argument("--store", type=Path, help=f"embedded store file (default: {shown})")
    where.add_argument(
        "--opensearch", metavar="URL", help="OpenSearch URL; credentials from OPENSEARCH_USERNAME/PASSWORD"
    )
    parser.add_argument("--index", help="index name (with --opensearch)")
    parser.add_argument(
        "--analyzer", choices=ANALYZERS, help=f"BM25 analysis of a new store or index (default: {DEFAULT_ANALYZER}; "
        "an existing one keeps its own)",
    )  # fmt: skip
    parser.add_argument("--ca-certs", metavar="PATH", help="CA bundle that signed the cluster's TLS certificate")
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify the cluster's TLS certificate (trusted networks only)"
    )
    parser.set_defaults(store_default=store_default)


def _add_rerank_arguments(parser: argparse.ArgumentParser) -> None:
    """
    `--rerank MODEL | --remote-rerank MODEL_ID` and `--rerank-top-k N`.

    Rescore the retrieved passages with a cross-encoder before they are collapsed into documents (read back by
    `_rerank`).
    """
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--rerank", metavar="MODEL", help="rerank locally with this cross-encoder (catalog name, alias or directory)"
    )
    which.add_argument(
        "--remote-rerank", metavar="MODEL_ID", help="rerank in the cluster with this deployed cross-encoder"
    )
    parser.add_argument(
        "--rerank-top-k", type=int, metavar="N", help="passages to rerank (default: as many as are retrieved)"
    )


def _rerank(args: argparse.Namespace) -> Rerank | None:
    if args.rerank is None and args.remote_rerank is None:
        if args.rerank_top_k is not None:
            raise ValueError("--rerank-top-k says how many passages to rerank: give --rerank MODEL or --remote-rerank.")
        return None
    return Rerank(model=args.rerank, remote_model_id=args.remote_rerank, top_k=args.rerank_top_k)


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    engine = parser.add_argument_group("engine", "where the job runs (--engine ray needs the [ray] extra)")
    engine.add_argument("--engine", choices=ENGINES, default="local", help="local process or Ray Data (default: local)")
    engine.add_argument(
        "--ray-address", metavar="auto|ray://HOST:PORT", help="join a Ray cluster (default: start a local Ray)"
    )
    engine.add_argument("--workers", type=int, metavar="N", help="embedding actors (default: the cluster's CPUs)")
    engine.add_argument(
        "--threads-per-worker", type=int, default=1, metavar="T", help="CPUs and inference runs per actor (default: 1)"
    )
    engine.add_argument(
        "--write-concurrency", type=int, default=2, metavar="K", help="bulk-writing tasks at once (default: 2)"
    )


def _ray_options(args: argparse.Namespace) -> RayOptions | None:
    ray_only = {"--ray-address": args.ray_address, "--workers": args.workers}
    if args.engine != "ray":
        if given := [name for name, value in ray_only.items() if value is not None]:
            raise ValueError(f"{', '.join(given)} set(s) up Ray: give --engine ray with it.")
        return None
    return RayOptions(
        address=args.ray_address, workers=args.workers, threads_per_worker=args.threads_per_worker,
        write_concurrency=args.write_concurrency,
    )  # fmt: skip


def _add_mode_arguments(parser: argparse.ArgumentParser) -> None:
    """`--mode dense|bm25|hybrid` and the hybrid fusion (`--fusion`, `--bm25-weight`), on the embedded store."""
    parser.add_argument(
        "--mode", choices=MODES, default="dense",
        help="dense (k-NN), bm25 (keywords), sparse (neural sparse, on a store indexed with --sparse-encoder) or "
        "hybrid (BM25 and dense fused, and sparse when the store holds sparse embeddings); all but dense on the "
        "embedded store (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--fusion", choices=FUSIONS, default=DEFAULT_FUSION,
        help="hybrid: min_max or z_score (weighted mean of min-max or z-score normalized scores, as OpenSearch's "
        "normalization-processor) or rrf (reciprocal rank fusion) (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--bm25-weight", type=float, metavar="W",
        help=f"hybrid min_max/z_score: BM25's weight, the dense one is 1 - W (default: {DEFAULT_BM25_WEIGHT})",
    )  # fmt: skip
    parser.add_argument(
        "--fuse", choices=("passages", "documents"), default="documents" if DEFAULT_PER_SOURCE else "passages",
        help="hybrid: fuse the two sides' passages, or their source documents (each side's best passage per "
        "source) (default: %(default)s)",
    )  # fmt: skip


# The fusions that weigh their sub-queries; rrf ranks by position alone.
WEIGHTED_FUSIONS = ("min_max", "z_score")


def _mode(args: argparse.Namespace) -> dict[str, Any]:
    weight = args.bm25_weight
    per_source = args.fuse == "documents"
    if weight is None:
        return {
            "mode": args.mode, "fusion": args.fusion, "bm25_weight": DEFAULT_BM25_WEIGHT, "per_source": per_source
        }  # fmt: skip
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"--bm25-weight {weight}: give a weight between 0 and 1 (dense gets 1 - W).")
    if args.mode != "hybrid" or args.fusion not in WEIGHTED_FUSIONS:
        raise ValueError(
            f"--bm25-weight {weight} weighs --mode hybrid --fusion min_max|z_score; this search (--mode {args.mode}"
            + (f", --fusion {args.fusion}" if args.mode == "hybrid" else "")
            + ") would ignore it: leave it out, or give --mode hybrid --fusion min_max."
        )
    return {"mode": args.mode, "fusion": args.fusion, "bm25_weight": weight, "per_source": per_source}


def _add_split_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", type=int, help="tokens per passage (default: the model's limit)")
    parser.add_argument(
        "--overlap", type=int, default=DEFAULT_OVERLAP, help="tokens shared by neighbours (default: %(default)s)"
    )
    parser.add_argument(
        "--no-title-header",
        dest="title_header",
        action="store_false",
        help="do not start every passage of a titled document (meta.title) with its title",
    )
    parser.add_argument(
        "--no-split", dest="split", action="store_false", help="embed whole documents (truncated by the model)"
    )


def _splitting(args: argparse.Namespace) -> Splitting:
    return Splitting(split=args.split, window=args.window, overlap=args.overlap, title_header=args.title_header)


def _add_sparse_arguments(parser: argparse.ArgumentParser, *, passages: bool = True, query: bool = True) -> None:
    """
    ``--sparse MODEL_ID``: a neural sparse index the cluster encodes; ``--sparse-encoder``: passages encoded here.

    With ``--sparse-model`` (whose tokenizer splits passages for ``--sparse``) and ``--sparse-encoder`` (into the
    store or a sparse index) when indexing, and ``--sparse-tokenizer`` (local query encoding) when searching.
    """
    group = parser.add_argument_group("neural sparse")
    group.add_argument(
        "--sparse", metavar="MODEL_ID", help="(with --opensearch) a sparse index: this deployed SPARSE_* model "
        "encodes documents at ingest" + (" and, without --sparse-tokenizer, queries" if query else ""),
    )  # fmt: skip
    if passages:
        group.add_argument(
            "--sparse-model", metavar="ALIAS", help="with --sparse: catalog sparse model (or its directory) whose "
            "tokenizer splits passages (default: the deployed model's name)",
        )  # fmt: skip
        group.add_argument(
            "--sparse-encoder", metavar="ALIAS|DIR", help="encode passages here with this catalog sparse encoder (or "
            "its artifact directory; the torch extra): into the store beside the dense vectors (for --mode sparse "
            "and hybrid), or with --opensearch into a sparse index (precomputed rank_features, no ingest pipeline)",
        )  # fmt: skip
    if query:
        group.add_argument(
            "--sparse-tokenizer", metavar="ALIAS|DIR", help="encode queries here with this sparse model (a query "
            "tokenizer, or a bi-encoder), catalog alias or directory: with --opensearch sent as query_tokens instead "
            "of the cluster encoding them; on the store, for --mode sparse|hybrid (default: the catalog's query model "
            "of the store's sparse encoder)",
        )  # fmt: skip


def _sparse(args: argparse.Namespace) -> SparseEncoding | None:
    passage_model, query_tokenizer = getattr(args, "sparse_model", None), getattr(args, "sparse_tokenizer", None)
    if getattr(args, "sparse_encoder", None) is not None and args.sparse is not None:
        raise ValueError(
            "--sparse-encoder encodes passages here, --sparse MODEL_ID has the cluster encode them: give one."
        )
    if args.sparse is None and query_tokenizer is None:
        if passage_model is not None:
            raise ValueError("--sparse-model names the tokenizer of a sparse index: give --sparse MODEL_ID with it.")
        return None
    return SparseEncoding(model_id=args.sparse, passage_model=passage_model, query_tokenizer=query_tokenizer)


def _guarded(handler: Handler) -> Handler:
    """
    A bad argument combination (a plain ``ValueError``) ends as one `error:` line and exit code 2.

    This package's own errors go on to the main CLI, which exits with each one's ``exit_code``.
    """

    def run(args: argparse.Namespace) -> int:
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
        try:
            return handler(args)
        except OpenSearchPretrainedError:
            raise
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE

    return run


def _target(args: argparse.Namespace) -> Target | None:
    if args.opensearch:
        if args.insecure and args.ca_certs:
            raise ValueError("--insecure turns certificate checks off and --ca-certs sets how to check: give one.")
        return Target(
            hosts=args.opensearch, index=args.index, ca_certs=args.ca_certs, verify_certs=not args.insecure,
            sparse=_sparse(args), analyzer=args.analyzer, sparse_encoder=getattr(args, "sparse_encoder", None),
        )  # fmt: skip
    if args.index or args.ca_certs or args.insecure:
        raise ValueError("--index, --ca-certs and --insecure are about an OpenSearch cluster: give --opensearch URL.")
    if args.sparse is not None or getattr(args, "sparse_model", None) is not None:
        raise ValueError(
            "--sparse is a neural sparse index in an OpenSearch cluster: give --opensearch URL --index NAME (the "
            "store holds sparse embeddings made here: --sparse-encoder ALIAS|DIR)."
        )
    store = args.store if args.store is not None else args.store_default
    if store is None:
        return None
    return Target(
        store_path=Path(store), analyzer=args.analyzer, sparse_encoder=getattr(args, "sparse_encoder", None),
        sparse_query=getattr(args, "sparse_tokenizer", None),
    )  # fmt: skip


def _model(args: argparse.Namespace, target: Target | None, *, read_index: bool = False) -> PretrainedModel:
    """
    The model of the run.

    Without ``--model``/``--model-version``, the model an existing store file (or, with ``read_index``, an index)
    records, else the default; with them, the flags' model, which a store must hold (an index checks it itself, naming
    both models, when it is opened).
    """
    flagged = args.model is not None or args.model_version is not None
    if target is None or (target.store_path is None and (flagged or not read_index)):
        return get_model(args.model or DEFAULT_MODEL, args.model_version)
    recorded = _recorded_model(target)
    if recorded is None:
        return get_model(args.model or DEFAULT_MODEL, args.model_version)
    where, name, version = recorded
    if not flagged:
        return get_model(name, version)
    wanted = get_model(args.model or name, args.model_version)
    if args.model_version is None and wanted.name == name:
        wanted = get_model(name, version)  # --model alone names the model, not its newest version
    if (wanted.name, wanted.version) != (name, version):
        given = " ".join(
            f"{flag} {value}"
            for flag, value in (("--model", args.model), ("--model-version", args.model_version))
            if value is not None
        )
        raise ValueError(
            f"{given}: {where} holds vectors of {name} {version}, not {wanted.name} {wanted.version}; leave the "
            "flag out to use its model, or give another --store for this one."
        )
    return wanted


def _recorded_model(target: Target) -> tuple[str, str, str] | None:
    """(how to name it, model name, version) that an existing store file or k-NN index records, else None."""
    if target.store_path is not None:
        if not target.store_path.exists():
            return None
        store = SQLiteDocumentStore(path=str(target.store_path))
        try:
            record = store.store_model
        finally:
            store.close()
        return f"store {target.store_path}", record.name, record.version
    if target.sparse is not None:
        return None  # a sparse index records its encoder, not a dense model
    hosts, index = target.opensearch_index()
    client = ConnectionSettings(hosts, http_auth=ENV_CREDENTIALS, **target.tls()).sync_client()
    try:
        identity = recorded_model(client, index)
    finally:
        client.close()
    return None if identity is None else (f"index {index!r}", identity.name, identity.version)


@_guarded
def _run_index(args: argparse.Namespace) -> int:
    target = _target(args)
    assert target is not None
    if args.replicas is not None or args.compression is not None:
        target = replace(target, replicas=args.replicas, compression=args.compression)
    try:
        summary = index_sources(
            args.sources, target, _model(args, target), remote_model_id=args.remote,
            splitting=_splitting(args), engine=args.engine, ray=_ray_options(args),
        )  # fmt: skip
    except IndexingInterrupted as stop:
        print(stop.summary.line())
        print(
            "interrupted: the passages written so far are kept; run the same command again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(summary.line())
    return EXIT_FAILED if summary.failed else EXIT_OK


@_guarded
def _run_search(args: argparse.Namespace) -> int:
    target = _target(args)
    assert target is not None
    rerank, mode = _rerank(args), _mode(args)  # the options are checked before any store or cluster is read
    highlight = Highlight(args.highlight) if args.highlight else None
    documents = search(
        args.query,
        target,
        _model(args, target, read_index=True),
        top_k=args.top_k,
        rerank=rerank,
        highlight=highlight,
        **mode,
    )
    if not documents:
        print(f"no results for {args.query!r}", file=sys.stderr)
    for document in documents:
        snippet = " ".join((document.content or "").split())[:SNIPPET_CHARS]
        print(f"{document.score:.4f}\t{document.id}\t{_origin(document)}{snippet}")
        for sentence in document.meta.get(HIGHLIGHTS_KEY, []):
            print(f"\t» {' '.join(sentence['text'].split())}")
    return 0


def _origin(document: Document) -> str:
    """
    Where a hit came from, before its snippet.

    The file and the passage's place in it (``notes.md, passage 2, char 1204: ``); nothing for a JSONL record, whose id
    column is the record's own id when it had one.
    """
    meta = document.meta
    where = [str(meta["file_path"])] if "file_path" in meta else []
    if "split_id" in meta:
        where.append(f"passage {int(meta['split_id']) + 1}, char {meta.get('split_idx_start', 0)}")
    return ", ".join(where) + ": " if where else ""


@_guarded
def _run_evaluate(args: argparse.Namespace) -> int:
    target = _target(args)
    scores = evaluate(
        args.dataset, _model(args, target), target, splitting=_splitting(args), qrels_split=args.qrels_split,
        analyzer=args.analyzer, rerank=_rerank(args), sparse_encoder=args.sparse_encoder,
        sparse_query=args.sparse_tokenizer,
        **_mode(args),
    )  # fmt: skip
    if args.json:
        print(json.dumps(scores))
    else:
        print(
            f"nDCG@10: {scores['ndcg@10']:.4f}  Recall@100: {scores['recall@100']:.4f}  ({scores['queries']} queries)"
        )
    return 0
