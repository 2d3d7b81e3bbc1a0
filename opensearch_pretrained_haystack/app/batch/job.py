"""
Batch indexing as a stream: read → clean → split → embed → write, one chunk of documents at a time.

The steps are ``pipelines.indexing_components``, the very components ``indexing_pipeline`` wires together, run
in the same order; only reading (``sources``) and writing (``targets``) are the job's own. Memory stays flat
however large the input, because only one chunk is ever held. Passage ids are hashes of content and meta, so
re-running after an interruption finds what was already written and skips it (no embedding is computed twice,
nothing is lost).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Never

from haystack import Document
from tqdm import tqdm

from opensearch_pretrained_haystack.app.batch.core import (
    FIRST_GROUP,
    PASSAGE_GROUP,
    READ_CHUNK,
    READ_CHUNK_CHARS,
    IndexSummary,
    embedded_passages,
    new_passages,
    write_passages,
)
from opensearch_pretrained_haystack.app.batch.ray_options import ENGINES, RAY_MISSING, MissingExtraError, RayOptions
from opensearch_pretrained_haystack.app.batch.remote_model import (
    ENV_CREDENTIALS,
    check_remote_model,
    check_sparse_model,
)
from opensearch_pretrained_haystack.app.batch.sources import BytesRead, input_bytes, read_documents
from opensearch_pretrained_haystack.app.batch.targets import Sink, Target, open_sink
from opensearch_pretrained_haystack.app.pipelines import (
    DEFAULT_SPLITTING,
    IndexingComponents,
    Splitting,
    document_embedder,
    indexing_components,
)
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.indices.sparse import SparseEncoding


def index_documents(
    documents: Iterable[Document],
    sink: Sink,
    *,
    components: IndexingComponents,
    summary: IndexSummary | None = None,
    total: int | None = None,
    bytes_read: BytesRead | None = None,
    group_size: int = PASSAGE_GROUP,
    progress_bar: bool = True,
) -> IndexSummary:
    """
    Clean and split ``documents`` as they are read, then embed and write their passages.

    Passages go ``group_size`` at a time (across read chunks, so the embedder's batches pad little), skipping passages
    ``sink`` already holds. The first groups are smaller (``FIRST_GROUP``, doubling up to ``group_size``), so the first
    passages are written, and the bar moves, within seconds. The progress bar counts documents whose passages are all
    written, and shows the passages written so far; with ``bytes_read`` (told by ``read_documents``) it counts their
    bytes instead, of a ``total`` in bytes (``input_bytes``). Ctrl-C raises ``IndexingInterrupted`` carrying the
    summary of what was written (every group written before it is kept; a re-run resumes after it).
    """
    summary = summary or IndexSummary()
    pending: list[Document] = []
    size = min(FIRST_GROUP, group_size)
    in_bytes = {"unit": "B", "unit_scale": True, "unit_divisor": 1024} if bytes_read is not None else {"unit": "doc"}
    with tqdm(total=total, desc="Indexing", disable=not progress_bar, smoothing=0.1, **in_bytes) as bar:
        progress = _WrittenProgress(bar)
        credited = 0  # bytes read that the bar was given
        try:
            for chunk in _chunks(documents):
                summary.documents_read += len(chunk)
                passages = 0
                for passage in components.stream_passages(chunk):  # a huge document's passages are written as cut
                    pending.append(passage)
                    passages += 1
                    if len(pending) >= size:
                        _embed_and_write(pending, sink, components, summary)
                        pending = []
                        progress.written(size)
                        bar.set_postfix(passages=summary.passages_written)
                        size = min(size * 2, group_size)
                if bytes_read is None:
                    progress.read(len(chunk), passages)
                else:
                    progress.read(bytes_read.count - credited, passages)
                    credited = bytes_read.count
            if bytes_read is not None:  # what was read after the last document (blank or bad lines)
                progress.read(bytes_read.count - credited, 0)
            _embed_and_write(pending, sink, components, summary)
            progress.written(len(pending))
            bar.set_postfix(passages=summary.passages_written)
        except KeyboardInterrupt:
            raise IndexingInterrupted(summary) from None
    return summary


def _chunks(documents: Iterable[Document]) -> Iterator[list[Document]]:
    """``documents`` in lists of at most ``READ_CHUNK`` documents and ``READ_CHUNK_CHARS`` characters of text."""
    chunk: list[Document] = []
    chars = 0
    for document in documents:
        size = len(document.content or "")
        if chunk and (len(chunk) == READ_CHUNK or chars + size > READ_CHUNK_CHARS):
            yield chunk
            chunk, chars = [], 0
        chunk.append(document)
        chars += size
    if chunk:
        yield chunk


class IndexingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped indexing; ``summary`` says what was written before it (a re-run resumes from there)."""

    def __init__(self, summary: IndexSummary) -> None:
        super().__init__("interrupted")
        self.summary = summary


class _WrittenProgress:
    """
    Advances the bar by a chunk's documents once all of the chunk's passages are written.

    Passages of the chunk being cut may be written before it is counted (``read``): they are credited to it then.
    """

    def __init__(self, bar: tqdm[Never]) -> None:
        self._bar = bar
        self._chunks: deque[list[int]] = deque()  # [passages still to write, documents] per chunk read
        self._credit = 0  # passages written of the chunk not yet counted

    def read(self, documents: int, passages: int) -> None:
        self._chunks.append([passages, documents])
        credit, self._credit = self._credit, 0
        self.written(credit)

    def written(self, passages: int) -> None:
        while self._chunks and self._chunks[0][0] <= passages:
            left, documents = self._chunks.popleft()
            passages -= left
            self._bar.update(documents)
        if self._chunks:
            self._chunks[0][0] -= passages
        else:
            self._credit += passages


def _embed_and_write(
    passages: list[Document], sink: Sink, components: IndexingComponents, summary: IndexSummary
) -> None:
    if not passages:
        return
    new, skipped = new_passages(passages, sink.stored_ids([p.id for p in passages]))
    summary.skipped += skipped
    if not new:
        return
    kept, failed = embedded_passages(components.embed(new), vectors_expected=components.embedder is not None)
    if failed:
        summary.fail(failed, f"{failed} passage(s) could not be embedded")
    write_passages(sink, kept, summary)


def index_into(
    target: Target,
    model: PretrainedModel,
    documents: Iterable[Document],
    *,
    summary: IndexSummary | None = None,
    total: int | None = None,
    bytes_read: BytesRead | None = None,
    remote_model_id: str | None = None,
    splitting: Splitting = DEFAULT_SPLITTING,
    group_size: int = PASSAGE_GROUP,
    progress_bar: bool = True,
) -> IndexSummary:
    """
    ``documents`` into ``target``, through ``indexing_components`` for ``model``: ``index`` and ``evaluate``.

    The remote embedder asks the cluster the documents go to (checked before anything is read or written:
    ``check_remote_model``); the embedded store has no cluster, so ``remote_model_id`` needs an OpenSearch target.
    A sparse target (``target.sparse``) is encoded by the cluster's ingest pipeline: nothing is embedded here, and
    passages are cut with the sparse model's tokenizer (``check_sparse_model``); ``model`` is not used.
    ``target.sparse_encoder`` sparse-encodes passages here: beside ``model``'s vectors in the store, alone (cut with
    its tokenizer) into an OpenSearch sparse index.
    """
    if target.sparse is not None:
        components = _cluster_encoded_components(target, target.sparse, remote_model_id, splitting)
    elif target.sparse_encoder is not None and target.hosts is not None:
        if remote_model_id is not None:
            raise ValueError("--remote embeds into a k-NN index, --sparse-encoder fills a sparse one: give one.")
        components = indexing_components(
            model=target.sparse_encoder, splitting=splitting, cluster_encodes=True,
            sparse_encoder=target.sparse_encoder,
        )  # fmt: skip
    else:
        components = _embedding_components(target, model, remote_model_id, splitting)
    components.warm_up()  # a model that cannot be had fails here, before a store or index is created for it
    with open_sink(target, model) as sink:
        return index_documents(
            documents, sink, components=components, summary=summary, total=total, bytes_read=bytes_read,
            group_size=group_size, progress_bar=progress_bar,
        )  # fmt: skip


def _embedding_components(
    target: Target, model: PretrainedModel, remote_model_id: str | None, splitting: Splitting
) -> IndexingComponents:
    if remote_model_id is not None:
        if target.hosts is None:
            raise ValueError("--remote MODEL_ID embeds in the cluster: give --opensearch URL --index NAME with it.")
        check_remote_model(model, target.hosts, remote_model_id, **target.tls())
    embedder = document_embedder(
        model.name, model.version, remote_model_id=remote_model_id, hosts=target.hosts, http_auth=ENV_CREDENTIALS,
        **target.tls(),
    )  # fmt: skip
    return indexing_components(
        model=model.name, version=model.version, embedder=embedder, splitting=splitting,
        sparse_encoder=target.sparse_encoder,
    )  # fmt: skip


def _cluster_encoded_components(
    target: Target, sparse: SparseEncoding, remote_model_id: str | None, splitting: Splitting
) -> IndexingComponents:
    if remote_model_id is not None:
        raise ValueError("--remote embeds into a k-NN index, --sparse has the cluster encode a sparse one: give one.")
    assert target.hosts is not None  # a sparse Target is an OpenSearch one
    passage_model = check_sparse_model(sparse, target.hosts, **target.tls())
    return indexing_components(model=passage_model, splitting=splitting, cluster_encodes=True)


def index_sources(
    sources: Sequence[str | Path],
    target: Target,
    model: PretrainedModel,
    *,
    remote_model_id: str | None = None,
    splitting: Splitting = DEFAULT_SPLITTING,
    group_size: int = PASSAGE_GROUP,
    progress_bar: bool = True,
    engine: str = "local",
    ray: RayOptions | None = None,
) -> IndexSummary:
    """
    The ``index`` command.

    Every document of ``sources`` into ``target``, embedded with ``model``; with ``engine="ray"`` on Ray Data (``ray``:
    where and how wide; the same passages, vectors and summary).
    """
    if engine == "ray":
        if target.sparse is not None:
            raise ValueError("--sparse (the cluster encodes at ingest) runs on --engine local only, for now.")
        on_ray: IndexSummary = _ray_engine().index_sources_on_ray(
            sources, target, model, options=ray or RayOptions(), remote_model_id=remote_model_id,
            splitting=splitting, progress_bar=progress_bar,
        )  # fmt: skip
        return on_ray
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: use one of {', '.join(ENGINES)}.")
    summary, bytes_read = IndexSummary(), BytesRead()
    return index_into(
        target, model, read_documents(sources, summary, summary, bytes_read=bytes_read), summary=summary,
        total=input_bytes(sources), bytes_read=bytes_read, remote_model_id=remote_model_id,
        splitting=splitting, group_size=group_size, progress_bar=progress_bar,
    )  # fmt: skip


def _ray_engine() -> ModuleType:
    """``batch.ray_engine``, imported only when asked for: Ray is an optional extra."""
    try:
        from opensearch_pretrained_haystack.app.batch import ray_engine
    except ImportError as error:
        if error.name is None or error.name.split(".")[0] not in ("ray", "pyarrow", "pandas"):
            raise
        raise MissingExtraError(RAY_MISSING) from None
    return ray_engine
