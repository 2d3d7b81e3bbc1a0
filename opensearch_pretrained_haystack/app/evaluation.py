"""
``evaluate``: retrieval quality of a model and splitting setting on a BEIR-format data set.

The corpus goes through the same path as the ``index`` command (the components of ``indexing_pipeline``),
the queries through the query pipeline, and passages are collapsed to their source document by the best passage before
scoring, so the numbers describe what users of ``index``/``search`` get. Metrics follow BEIR (pytrec_eval):
nDCG@10 with linear gains, Recall@100, averaged over the queries that have judgements of the chosen split
(``qrels/<split>.tsv``: ``test`` by default; tune on ``train`` and keep ``test`` back).
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from haystack import Document

from haystack_integrations.document_stores.opensearch_pretrained.scoring import (
    DEFAULT_BM25_WEIGHT,
    DEFAULT_FUSION,
    DEFAULT_PER_SOURCE,
)
from opensearch_pretrained_haystack.app.batch import Target, count_documents, index_into, load_store
from opensearch_pretrained_haystack.app.batch.query import Rerank, reranking, store_sparse_query
from opensearch_pretrained_haystack.app.batch.sources import beir_document
from opensearch_pretrained_haystack.app.pipelines import DEFAULT_SPLITTING, Splitting, query_inputs, query_pipeline
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.errors import UsageError
from opensearch_pretrained_haystack.indices.sparse import SparseEncoding

NDCG_AT = 10
RECALL_AT = 100
DEFAULT_SPLIT = "test"


class BeirFormatError(UsageError):
    """A line of a BEIR file that is not what the format says, named by file and line."""


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR directory: ``corpus.jsonl`` (read lazily), ``queries.jsonl`` and ``qrels/<split>.tsv``."""

    corpus_path: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(directory: str | Path, *, split: str = DEFAULT_SPLIT) -> BeirDataset:
    """Read queries and the judgements of ``split``; only judged queries are kept, as BEIR evaluates."""
    root = Path(directory)
    qrels_name = f"qrels/{split}.tsv"
    missing = [name for name in ("corpus.jsonl", "queries.jsonl", qrels_name) if not (root / name).is_file()]
    if missing:
        splits = sorted(path.stem for path in (root / "qrels").glob("*.tsv"))
        present = f" (its splits: {', '.join(splits)})" if splits else ""
        raise FileNotFoundError(
            f"{root} is not a BEIR directory with split {split!r}: missing {', '.join(missing)}{present}."
        )
    qrels: dict[str, dict[str, int]] = {}
    qrels_path = root / qrels_name
    with open(qrels_path, encoding="utf-8", newline="") as file:
        for number, row in enumerate(csv.reader(file, delimiter="\t"), start=1):
            if number == 1 or not row:  # the header: query-id, corpus-id, score
                continue
            if len(row) != 3 or not row[2].strip().lstrip("-").isdigit():
                raise BeirFormatError(f"{qrels_path}:{number}: expected query-id, corpus-id and an integer score")
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = {}
    for record in _jsonl_records(root / "queries.jsonl", "text"):
        if record["_id"] in qrels:
            queries[record["_id"]] = record["text"]
    return BeirDataset(root / "corpus.jsonl", queries, qrels)


def _jsonl_records(path: Path, text_field: str) -> Iterator[dict[str, Any]]:
    """
    The records of a BEIR JSONL file.

    A line without a string ``_id`` and ``text_field`` is an error naming it (a judged query or document silently
    dropped would change the scores).
    """
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise BeirFormatError(f"{path}:{number}: not JSON ({error.msg} at column {error.colno})") from None
            if (
                not isinstance(record, dict)
                or not isinstance(record.get(text_field, ""), str)
                or not isinstance(record.get("_id"), str | int)
            ):
                raise BeirFormatError(f'{path}:{number}: expected a JSON object with "_id" and a string "{text_field}"')
            record["_id"] = str(record["_id"])
            yield record


def corpus_documents(corpus_path: Path) -> Iterator[Document]:
    """Corpus entries as Documents with the BEIR id; title and text joined by a space, as BEIR's dense models do."""
    for record in _jsonl_records(corpus_path, "text"):
        yield beir_document(record)


def _query_model_of(encoder: str) -> str:
    """
    The model that encodes queries for documents of ``encoder``.

    The catalog's ``search_with``, or the encoder itself (an artifact directory: taken as a bi-encoder).
    """
    if Path(encoder).expanduser().exists():
        return encoder
    return get_model(encoder).search_with or encoder


def ndcg(ranked: Sequence[str], judgements: Mapping[str, int], k: int = NDCG_AT) -> float:
    """nDCG@k with linear gains (trec_eval's ``ndcg_cut``)."""
    dcg = sum(judgements.get(doc_id, 0) / math.log2(rank + 2) for rank, doc_id in enumerate(ranked[:k]))
    ideal = sorted((g for g in judgements.values() if g > 0), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: Sequence[str], judgements: Mapping[str, int], k: int = RECALL_AT) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {doc_id for doc_id, gain in judgements.items() if gain > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(
    dataset_dir: str | Path,
    model: PretrainedModel,
    target: Target | None = None,
    *,
    splitting: Splitting = DEFAULT_SPLITTING,
    qrels_split: str = DEFAULT_SPLIT,
    mode: str = "dense",
    fusion: str = DEFAULT_FUSION,
    bm25_weight: float = DEFAULT_BM25_WEIGHT,
    per_source: bool = DEFAULT_PER_SOURCE,
    progress_bar: bool = True,
    rerank: Rerank | None = None,
    analyzer: str | None = None,
    sparse_encoder: str | None = None,
    sparse_query: str | None = None,
) -> dict[str, float]:
    """
    Index the corpus into ``target``, run the judged queries and return the scores.

    ``target`` defaults to a temporary embedded store. The queries judged in ``qrels_split`` are searched by ``mode``
    (``fusion``, ``bm25_weight``, ``per_source``: see ``query_pipeline``; reranked with ``rerank``: only the reranked
    passages' sources are ranked); the result is ``{"ndcg@10", "recall@100", "queries", "passages"}``. ``splitting``
    cuts the corpus into passages. A sparse target (``Target.sparse``) is encoded by the cluster and
    searched with the neural sparse retriever, so sparse and dense are measured alike. ``analyzer`` is the BM25 analysis
    of a new store or index (``text_analysis``). ``sparse_encoder`` encodes the corpus here (``Target.sparse_encoder``)
    and ``sparse_query`` the queries (default: the catalog's query model of the encoder, or the encoder itself when it
    is a directory), so ``mode="sparse"`` (and ``hybrid``) measure neural sparse on the store, and any mode on an
    OpenSearch target searches its sparse index.
    """
    dataset = load_beir(dataset_dir, split=qrels_split)
    if target is None:
        with tempfile.TemporaryDirectory(prefix="opensearch-pretrained-eval-") as scratch:
            return evaluate(
                dataset_dir, model, Target(store_path=Path(scratch) / "store.sqlite", analyzer=analyzer),
                splitting=splitting, qrels_split=qrels_split, mode=mode, fusion=fusion, bm25_weight=bm25_weight,
                per_source=per_source,
                progress_bar=progress_bar, rerank=rerank, sparse_encoder=sparse_encoder, sparse_query=sparse_query,
            )  # fmt: skip
    if analyzer is not None:
        target = replace(target, analyzer=analyzer)
    if sparse_encoder is not None or sparse_query is not None:
        target = replace(target, sparse_encoder=sparse_encoder, sparse_query=sparse_query)
    reranked = reranking(rerank, target)  # before indexing: a ranker that cannot be built fails first
    summary = index_into(
        target, model, corpus_documents(dataset.corpus_path), total=count_documents([dataset.corpus_path]),
        splitting=splitting, progress_bar=progress_bar,
    )  # fmt: skip
    store = load_store(target, model)
    sparse, query_model = target.sparse, None
    if target.sparse_encoder is not None:
        query_model = target.sparse_query or _query_model_of(target.sparse_encoder)
        if target.hosts is not None:
            sparse = SparseEncoding(query_tokenizer=query_model)
        else:
            query_model = store_sparse_query(store, query_model, mode)
    pipeline = query_pipeline(
        store,
        model=model.name,
        version=model.version,
        top_k=RECALL_AT,
        mode=mode,
        fusion=fusion,
        bm25_weight=bm25_weight,
        per_source=per_source,
        sparse=sparse,
        sparse_query=query_model,
        **reranked,
    )
    ndcgs, recalls = [], []
    for query_id, text in dataset.queries.items():
        ranked = [doc.id for doc in pipeline.run(query_inputs(pipeline, text))["collapser"]["documents"]]
        ndcgs.append(ndcg(ranked, dataset.qrels[query_id]))
        recalls.append(recall(ranked, dataset.qrels[query_id]))
    count = max(1, len(ndcgs))
    return {
        f"ndcg@{NDCG_AT}": round(sum(ndcgs) / count, 5),
        f"recall@{RECALL_AT}": round(sum(recalls) / count, 5),
        "queries": len(ndcgs),
        "passages": summary.passages_written + summary.skipped,
    }
