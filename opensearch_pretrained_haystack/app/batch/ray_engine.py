"""
``index --engine ray``: the batch job on Ray Data, stage for stage the local engine's.

shards (the driver) → read, clean, split, skip what the index holds (components loaded once per worker process; Ray Data
fuses this stage into the actors) → embed (an actor pool, one model session per actor) → bulk writes (a ``Datasink``, at
most ``write_concurrency`` tasks at once). Passages travel as JSON rows (``Document.to_dict``: ids kept, floats
round-trip exactly); every batch also carries one report row with its counts and failures, so the driver's summary
counts every document and passage, and a batch whose passages are all stored still has a row. A block that raises is run
again (Ray Data's map retries, ``block_retries``); a crashed worker's tasks are retried by Ray itself. Writes overwrite
by ``_id``, so a retried block never duplicates a passage.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import ray
import ray.data
from haystack import Document
from ray.data import ActorPoolStrategy, DataContext
from ray.data.block import Block, BlockAccessor
from ray.data.datasource import Datasink, WriteResult

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalOnnxDocumentEmbedder,
    LocalSparseDocumentEmbedder,
)
from opensearch_pretrained_haystack.app.batch.core import (
    PASSAGE_GROUP,
    READ_CHUNK,
    IndexSummary,
    embedded_passages,
    new_passages,
    write_passages,
)
from opensearch_pretrained_haystack.app.batch.ray_options import RayOptions
from opensearch_pretrained_haystack.app.batch.remote_model import ENV_CREDENTIALS, check_remote_model
from opensearch_pretrained_haystack.app.batch.shards import Shard, plan_shards, read_shard
from opensearch_pretrained_haystack.app.batch.targets import OpenSearchSink, Target, local_sparse_index
from opensearch_pretrained_haystack.app.pipelines import (
    DEFAULT_SPLITTING,
    IndexingComponents,
    Splitting,
    document_embedder,
    indexing_components,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel, get_model
from opensearch_pretrained_haystack.cluster.document_store import connected_client, index_name
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.indices.knn import document_store_for
from opensearch_pretrained_haystack.indices.sparse import require_sparse_field, sparse_document_store
from opensearch_pretrained_haystack.inference.sparse_tokenizer import load_vocabulary

logger = logging.getLogger(__name__)

PASSAGE, REPORT = "passage", "report"
T = TypeVar("T")
EMBEDDED_STORE_REFUSED = (
    "--engine ray writes from many processes at once, and the embedded store is one local file: give "
    "--opensearch URL --index NAME, or use --engine local."
)


@dataclass(frozen=True)
class RayJob:
    """What every worker needs to know, small and picklable (and hashable: workers cache what they build)."""

    target: Target
    model: str
    version: str
    remote_model_id: str | None = None
    splitting: Splitting = DEFAULT_SPLITTING
    threads_per_worker: int = 1
    retry: RetryPolicy = field(default_factory=RetryPolicy, compare=False)


EmbedderFactory = Callable[[RayJob], Any]


def default_embedder(job: RayJob) -> Any:
    """
    The local embedder with ``threads_per_worker`` single-threaded runs, or the cluster's (``--remote``).

    For a target that a local sparse encoder fills (``--sparse-encoder``), that encoder.
    """
    if job.target.sparse_encoder is not None:
        return LocalSparseDocumentEmbedder(
            job.target.sparse_encoder, progress_bar=False, concurrent_runs=job.threads_per_worker
        )
    if job.remote_model_id is None:
        return LocalOnnxDocumentEmbedder(
            job.model, job.version, progress_bar=False, concurrent_runs=job.threads_per_worker
        )
    return document_embedder(
        job.model, job.version, remote_model_id=job.remote_model_id, hosts=job.target.hosts,
        http_auth=ENV_CREDENTIALS, **job.target.tls(),
    )  # fmt: skip


class _Rows:
    """A batch out of a stage: passage rows and report rows, always the same three string columns."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.ids: list[str] = []
        self.data: list[str] = []

    def passage(self, document: Document) -> None:
        self._row(PASSAGE, document.id, json.dumps(document.to_dict(flatten=False)))

    def report(self, report: IndexSummary | dict[str, Any]) -> None:
        self._row(REPORT, "", json.dumps(asdict(report) if isinstance(report, IndexSummary) else report))

    def _row(self, kind: str, id_: str, data: str) -> None:
        self.kinds.append(kind)
        self.ids.append(id_)
        self.data.append(data)

    def columns(self) -> dict[str, np.ndarray[Any, Any]]:
        return {name: np.array(values, dtype=object) for name, values in self._named()}

    def _named(self) -> Iterator[tuple[str, list[str]]]:
        yield from (("kind", self.kinds), ("id", self.ids), ("data", self.data))


def _rows_of(batch: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """The rows of a batch; a batch with no columns (Ray hands those on when nothing is left) has none."""
    if "kind" not in batch:
        return iter(())
    return zip(batch["kind"], batch["id"], batch["data"], strict=True)


def _groups(items: list[T]) -> list[list[T]]:
    return [items[start : start + PASSAGE_GROUP] for start in range(0, len(items), PASSAGE_GROUP)]


# --- Worker-side state, built once per worker process and job --------------------------------------------------


@lru_cache(maxsize=2)
def _components(job: RayJob) -> IndexingComponents:
    """
    Cleaner and splitter (the tokenizer is loaded here, once per worker process); the embedder is the actors'.

    A sparse encoder's passages are cut with its own tokenizer.
    """
    encoder = job.target.sparse_encoder
    components = indexing_components(
        model=encoder or job.model, version=None if encoder else job.version, splitting=job.splitting,
        cluster_encodes=True,
    )  # fmt: skip
    if components.splitter is not None:
        components.splitter.warm_up()
    return components


@lru_cache(maxsize=2)
def _sink(job: RayJob) -> OpenSearchSink:
    """
    The job's index, checked against the model (the driver created it): the local engine's sink.

    :param job: The job.
    :returns: The sink for look-ups and bulk writes.
    """
    assert job.target.hosts is not None and job.target.index is not None
    if job.target.sparse_encoder is not None:  # sparse embeddings made here, written past the ingest pipeline
        store = sparse_document_store(
            job.target.hosts, job.target.index, create_index=False, retry=job.retry, **job.target.tls()
        )
        field_type = require_sparse_field(connected_client(store, job.retry), index_name(store), retry=job.retry)
        vocabulary = load_vocabulary(job.target.sparse_encoder, progress_bar=False)
        return OpenSearchSink(store, job.retry, sparse=(field_type, vocabulary))
    store = document_store_for(
        get_model(job.model, job.version), job.target.hosts, job.target.index, create_index=False,
        retry=job.retry, **job.target.tls(),
    )  # fmt: skip
    return OpenSearchSink(store, job.retry)


def _share() -> IndexSummary:
    """A batch's share of the run's summary (logged by the driver, not here)."""
    return IndexSummary(quiet=True)


# --- The stages ------------------------------------------------------------------------------------------------


def prepare(batch: dict[str, Any], *, job: RayJob) -> dict[str, np.ndarray[Any, Any]]:
    """Shards → passages the index does not hold yet (one report row per batch: read, skipped, failed)."""
    rows, report = _Rows(), _share()
    for _, _, data in _rows_of(batch):
        documents = list(read_shard(Shard(**json.loads(data)), report))
        report.documents_read += len(documents)
        passages = _components(job).passages(documents) if documents else []
        ids = list(dict.fromkeys(passage.id for passage in passages))
        stored = set().union(*(_sink(job).stored_ids(group) for group in _groups(ids)))
        new, skipped = new_passages(passages, stored)
        report.skipped += skipped
        for passage in new:
            rows.passage(passage)
    rows.report(report)
    return rows.columns()


class Embed:
    """An embedding actor: one embedder (one model session, or one cluster client) for all its batches."""

    def __init__(self, job: RayJob, make_embedder: EmbedderFactory = default_embedder) -> None:
        self._embedder = make_embedder(job)
        self._embedder.warm_up()
        self._dense = job.target.sparse_encoder is None

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray[Any, Any]]:
        """
        Embed the passage rows of ``batch`` and pass the report rows on.

        :param batch: Rows of passages and reports.
        :returns: The embedded passages' rows and one report row (with the passages that could not be embedded).
        """
        rows, report, passages = _Rows(), _share(), []
        for kind, _, data in _rows_of(batch):
            if kind == REPORT:
                rows.report(json.loads(data))
            else:
                passages.append(Document.from_dict(json.loads(data)))
        embedded: list[Document] = self._embedder.run(documents=passages)["documents"] if passages else []
        kept, failed = embedded_passages(embedded, vectors_expected=self._dense)
        if failed:
            report.fail(failed, f"{failed} passage(s) could not be embedded")
        for document in kept:
            rows.passage(document)
        rows.report(report)
        return rows.columns()


class OpenSearchDatasink(Datasink[dict[str, Any]]):
    """
    Bulk-writes the passage rows and sums the report rows.

    Each write task's share is added to ``summary`` (on the driver) when it is done.
    """

    def __init__(self, job: RayJob, summary: IndexSummary | None = None) -> None:
        self._job = job
        self.summary = summary or IndexSummary()

    def write(self, blocks: Iterable[Block], ctx: Any) -> dict[str, Any]:
        """
        Bulk-write the passage rows of ``blocks`` and sum their report rows.

        :param blocks: The blocks this task writes.
        :param ctx: Ray's task context (unused).
        :returns: This task's share of the summary, as a dict.
        """
        report, passages = _share(), []
        for block in blocks:
            accessor = BlockAccessor.for_block(block)
            if accessor.num_rows() == 0:  # zero-row (and zero-column) blocks: nothing to write
                continue
            for row in accessor.to_arrow().to_pylist():
                if row["kind"] == REPORT:
                    report.add(IndexSummary(**json.loads(row["data"])))
                else:
                    passages.append(Document.from_dict(json.loads(row["data"])))
        for group in _groups(passages):
            write_passages(_sink(self._job), group, report)
        return asdict(report)

    def on_write_complete(self, write_result: WriteResult[dict[str, Any]]) -> None:
        """
        Add every task's report to ``report``.

        :param write_result: What the write tasks returned.
        """
        for returned in write_result.write_returns:
            self.summary.add(IndexSummary(**returned))


# --- The driver ------------------------------------------------------------------------------------------------


def index_sources_on_ray(
    sources: Iterable[str | Path],
    target: Target,
    model: PretrainedModel,
    *,
    options: RayOptions,
    remote_model_id: str | None = None,
    splitting: Splitting = DEFAULT_SPLITTING,
    progress_bar: bool = True,
    make_embedder: EmbedderFactory = default_embedder,
) -> IndexSummary:
    """
    ``index_sources`` on Ray.

    The same passages, ids, vectors and summary; ``make_embedder`` builds each actor's embedder (``default_embedder``).
    """
    if target.store_path is not None or target.hosts is None or target.index is None:
        raise ValueError(EMBEDDED_STORE_REFUSED)
    options.check_address()
    if remote_model_id is not None:
        check_remote_model(model, target.hosts, remote_model_id, **target.tls())
    job = RayJob(
        target, model.name, model.version, remote_model_id=remote_model_id, splitting=splitting,
        threads_per_worker=options.threads_per_worker,
    )  # fmt: skip
    # The index is created (or checked against the model) once, here, before any worker writes to it.
    if target.sparse_encoder is not None:
        store, _ = local_sparse_index(target)
    else:
        store = document_store_for(model, target.hosts, target.index, **target.new_index_options(), **target.tls())
    sink = OpenSearchSink(store)
    summary = IndexSummary()
    shards = [
        json.dumps(asdict(shard))
        for shard in plan_shards([Path(s).absolute() for s in sources], documents_per_shard=READ_CHUNK, skipped=summary)
    ]
    try:
        if shards:
            with _ray_session(options.address), _retried_blocks(options.block_retries, progress_bar):
                _dataset(shards, job, options, make_embedder).write_datasink(
                    OpenSearchDatasink(job, summary),
                    concurrency=options.write_concurrency,
                    ray_remote_args={"num_cpus": 0},
                )
        sink.refresh()
    finally:
        sink.store.close()
    return summary


def _dataset(shards: list[str], job: RayJob, options: RayOptions, make_embedder: EmbedderFactory) -> Any:
    cpus = int(ray.cluster_resources().get("CPU", 2))  # type: ignore[no-untyped-call]
    workers = options.workers or max(1, cpus // job.threads_per_worker)
    return (
        ray.data.from_items([{"kind": "shard", "id": "", "data": s} for s in shards], override_num_blocks=len(shards))
        # The same CPUs as the actors, so Ray Data fuses reading and splitting into them (no CPU left idle).
        .map_batches(partial(prepare, job=job), batch_size=1, num_cpus=job.threads_per_worker)
        .map_batches(
            Embed,
            batch_size=PASSAGE_GROUP,
            fn_constructor_kwargs={"job": job, "make_embedder": make_embedder},
            compute=ActorPoolStrategy(size=workers),
            num_cpus=job.threads_per_worker,
        )
    )


@contextmanager
def _ray_session(address: str | None) -> Iterator[None]:
    """The Ray this process is connected to, else one started (``address`` None) or joined for the job."""
    if ray.is_initialized():
        yield
        return
    ray.init(address=address, include_dashboard=False if address is None else None)
    try:
        yield
    finally:
        ray.shutdown()


@contextmanager
def _retried_blocks(retries: int, progress_bar: bool) -> Iterator[None]:
    """Ray Data retries a block whose stage raised (any error, ``retries`` times) for the job, then restores."""
    context = DataContext.get_current()
    saved = (context.retried_map_errors, context.max_map_retries, context.enable_progress_bars)
    context.retried_map_errors, context.max_map_retries, context.enable_progress_bars = True, retries, progress_bar
    try:
        yield
    finally:
        context.retried_map_errors, context.max_map_retries, context.enable_progress_bars = saved
