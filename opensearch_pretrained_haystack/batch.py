"""Batch indexing as a stream: read → clean → split → embed → write, one chunk of documents at a time.

Memory stays flat however large the input, because only one chunk is ever held. Passage ids are hashes of
content and meta, so re-running after an interruption finds what was already written and skips it (no
embedding is computed twice, nothing is lost). The target is either an OpenSearch index (built for the model
by ``store.document_store_for``) or the embedded default: a file holding Haystack's in-memory store.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from haystack import Document
from haystack.components.preprocessors import DocumentCleaner
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.utils import Secret
from haystack_integrations.components.preprocessors.opensearch_pretrained import ModelTokenSplitter
from haystack_integrations.components.preprocessors.opensearch_pretrained.model_token_splitter import DEFAULT_OVERLAP
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from tqdm import tqdm

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.cluster.connection import ConnectionSettings
from opensearch_pretrained_haystack.cluster.document_store import overwrite_documents, stored_ids
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.embedded_store import EmbeddedStoreWriter, load_embedded_store
from opensearch_pretrained_haystack.neural import require_deployed
from opensearch_pretrained_haystack.pipelines import document_embedder, query_pipeline
from opensearch_pretrained_haystack.store import IndexMismatchError, document_store_for

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIX = ".jsonl"
# Documents read, cleaned and split at a time.
READ_CHUNK = 256
# Passages embedded and written at a time: large enough that the embedder's length-sorted batches pad little
# (measured: 512 costs ~4% more embedding time than 2,048), small enough that memory stays flat (~30 MB).
PASSAGE_GROUP = 2048
MAX_FAILURES_KEPT = 100
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Target:
    """Where passages go: the embedded store file, or an OpenSearch index (``hosts`` and ``index``; ``replicas``
    for a new index, None for the cluster's default)."""

    store_path: Path | None = None
    hosts: str | None = None
    index: str | None = None
    replicas: int | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    """TLS for ``hosts``: certificates are verified (against ``ca_certs`` when given) unless this is False."""

    def tls(self) -> dict[str, Any]:
        """``verify_certs``/``ca_certs`` for every client of this target (store, embedder, preflight)."""
        return {"verify_certs": self.verify_certs, "ca_certs": self.ca_certs}

    def __post_init__(self) -> None:
        if (self.store_path is None) == (self.hosts is None):
            raise ValueError("Give either a store file path or an OpenSearch URL (with an index name), not both.")
        if self.hosts is not None and not self.index:
            raise ValueError("An OpenSearch target needs an index name (--index NAME).")
        if self.replicas is not None and (self.hosts is None or self.replicas < 0):
            raise ValueError(f"--replicas {self.replicas}: give 0 or more, for a new OpenSearch index (--opensearch).")


@dataclass
class IndexSummary:
    """What one run did: ``skipped`` counts passages already stored and documents without content; ``failed``
    counts unreadable documents (bad files, bad JSONL lines) and passages the embedder returned without a vector."""

    documents_read: int = 0
    passages_written: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"documents read: {self.documents_read}, passages written: {self.passages_written}, "
            f"skipped: {self.skipped}, failed: {self.failed}"
        )

    def fail(self, count: int, reason: str) -> None:
        self.failed += count
        if len(self.failures) < MAX_FAILURES_KEPT:  # all are logged; a bounded list keeps memory flat
            self.failures.append(reason)
        logger.warning("%s", reason)


class Sink(Protocol):
    """A place to write embedded passages that can tell which ids it already holds."""

    def stored_ids(self, ids: list[str]) -> set[str]: ...

    def write(self, documents: list[Document]) -> int: ...


class _EmbeddedSink:
    def __init__(self, writer: EmbeddedStoreWriter) -> None:
        self._writer = writer

    def stored_ids(self, ids: list[str]) -> set[str]:
        return self._writer.written_ids.intersection(ids)

    def write(self, documents: list[Document]) -> int:
        return self._writer.write(documents)


class PassagesNotWrittenError(OpenSearchPretrainedError):
    """A write still failed after its retries; ``ids`` are the passages it held (the rest of the run goes on)."""

    def __init__(self, message: str, ids: list[str]) -> None:
        super().__init__(message)
        self.ids = ids


class _OpenSearchSink:
    """Writes through opensearch-haystack's store; its requests are retried (``cluster.document_store``)."""

    def __init__(self, store: OpenSearchDocumentStore) -> None:
        self._store = store

    def stored_ids(self, ids: list[str]) -> set[str]:
        try:
            return stored_ids(self._store, ids)
        except MLCommonsError as error:  # writes overwrite, so not knowing costs embeddings, never duplicates
            logger.warning("%s; the %d passages are embedded and written again.", error, len(ids))
            return set()

    def write(self, documents: list[Document]) -> int:
        try:
            return overwrite_documents(self._store, documents)
        except MLCommonsError as error:
            ids = [document.id for document in documents]
            shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")  # noqa: PLR2004
            raise PassagesNotWrittenError(f"{len(ids)} passage(s) not written ({shown}): {error}", ids) from error


@contextmanager
def open_sink(target: Target, model: PretrainedModel) -> Iterator[Sink]:
    """The writable side of ``target``; checks first that an existing index or file was built for ``model``."""
    if target.store_path is not None:
        with EmbeddedStoreWriter(target.store_path, model) as writer:
            yield _EmbeddedSink(writer)
        return
    store = document_store_for(
        model, target.hosts, target.index, number_of_replicas=target.replicas, **target.tls()
    )
    try:
        yield _OpenSearchSink(store)
    finally:
        store.close()


def load_store(target: Target, model: PretrainedModel) -> OpenSearchDocumentStore | InMemoryDocumentStore:
    """The searchable side of ``target``."""
    if target.store_path is not None:
        if not target.store_path.exists():
            raise FileNotFoundError(
                f"No store file at {target.store_path}: index documents first with `opensearch-pretrained index`."
            )
        return load_embedded_store(target.store_path)
    # Searching must not leave an empty index behind a typo in --index.
    return document_store_for(model, target.hosts, target.index, create_index=False, **target.tls())


def source_files(sources: Sequence[str | Path]) -> Iterator[Path]:
    """The files named by ``sources``; directories are walked (sorted, so runs repeat exactly). A source that
    does not exist is passed on, for ``read_documents`` to report as failed."""
    for source in map(Path, sources):
        if source.is_dir():
            yield from sorted(
                p for p in source.rglob("*") if p.is_file() and p.suffix in (*TEXT_SUFFIXES, JSONL_SUFFIX)
            )
        elif source.suffix in (*TEXT_SUFFIXES, JSONL_SUFFIX) or not source.exists():
            yield source
        else:
            raise ValueError(f"{source}: not a directory, .txt, .md or .jsonl file.")


def count_documents(sources: Sequence[str | Path]) -> int:
    """How many documents ``read_documents`` will yield (one per text file, one per non-blank JSONL line),
    so the progress bar can show the remaining time; it only counts lines."""
    total = 0
    for path in source_files(sources):
        if path.suffix == JSONL_SUFFIX and path.is_file() and not _is_gzip(path):
            with open(path, "rb") as file:
                total += sum(1 for line in file if line.strip())
        else:
            total += 1
    return total


def read_documents(sources: Sequence[str | Path], summary: IndexSummary) -> Iterator[Document]:
    """Documents from .txt/.md files (one each, as Haystack's ``TextFileToDocument`` makes them) and .jsonl files
    (one per line: ``content``, optional ``meta`` and ``id``). A missing or unreadable file and each bad line is
    reported (``file:line: why``) and counted as failed; the rest is read."""
    for path in source_files(sources):
        try:
            if not path.exists():
                summary.fail(1, f"{path}: does not exist")
            elif path.suffix != JSONL_SUFFIX:
                yield _text_document(path)
            elif _is_gzip(path):
                summary.fail(1, f"{path}: is gzip-compressed, not JSONL text: decompress it first")
            else:
                yield from _jsonl_documents(path, summary)
        except (OSError, ValueError) as error:
            summary.fail(1, f"{path}: {getattr(error, 'strerror', None) or error}")


def _text_document(path: Path) -> Document:
    """The document ``TextFileToDocument`` makes of ``path`` (same content and meta, so the same id), with a
    reason when the file is not text instead of the converter's silent skip."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    return Document(content=text, meta={"file_path": path.name})


def _jsonl_documents(path: Path, summary: IndexSummary) -> Iterator[Document]:
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8")
                if line.strip():
                    yield jsonl_document(line)
            except UnicodeDecodeError as error:
                summary.fail(1, f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start})")
            except ValueError as error:
                summary.fail(1, f"{path}:{number}: {error}")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(2) == GZIP_MAGIC


def jsonl_document(line: str) -> Document:
    """One JSONL record as a Document. A string or integer ``id`` is kept as given (without one, the id is a
    hash of content and meta); anything that the store or the tokenizer could not hold exactly is refused."""
    record = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
    if not isinstance(record, dict) or not isinstance(record.get("content"), str):
        raise ValueError('each line must be a JSON object with a string "content" (and optional "meta", "id")')
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise ValueError('"meta" must be a JSON object')
    for key, value in record.items():
        if found := _lone_surrogate(key) or _lone_surrogate(value):
            raise ValueError(f"{json.dumps(key)} holds a lone surrogate \\u{ord(found):04x}, which is not text")
    return Document(id=_record_id(record.get("id")), content=record["content"], meta=meta)


def _record_id(value: Any) -> str:
    """The id as given; "" lets ``Document`` hash content and meta."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f'"id" must be a string or an integer, not {json.dumps(value)}')
    if value == "":
        raise ValueError('"id" must not be empty (leave it out to get an id made from content and meta)')
    return str(value)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows (the store could not write it back)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of the range of a float (the store could not write it back)")
    return value


def _lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in a parsed JSON value: an escaped one such as \\ud800 is valid JSON, but it is
    not text, and no tokenizer, file or cluster can hold it."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return value[error.start]
        return None
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else []
    return next((found for item in items if (found := _lone_surrogate(item))), None)


def index_documents(
    documents: Iterable[Document],
    sink: Sink,
    *,
    splitter: ModelTokenSplitter | None,
    embedder: Any,
    summary: IndexSummary | None = None,
    total: int | None = None,
    group_size: int = PASSAGE_GROUP,
    progress_bar: bool = True,
) -> IndexSummary:
    """Clean and split (unless ``splitter`` is None: whole documents, truncated by the model) ``documents`` as
    they are read, then embed and write their passages ``group_size`` at a time, skipping passages ``sink``
    already holds. The progress bar counts documents whose passages are all written."""
    summary = summary or IndexSummary()
    cleaner = DocumentCleaner(keep_id=True)
    iterator = iter(documents)
    pending: list[Document] = []
    with tqdm(total=total, unit="doc", desc="Indexing", disable=not progress_bar, smoothing=0.1) as bar:
        progress = _WrittenProgress(bar)
        while chunk := list(islice(iterator, READ_CHUNK)):
            summary.documents_read += len(chunk)
            with_content = [doc for doc in chunk if doc.content and doc.content.strip()]
            summary.skipped += len(chunk) - len(with_content)
            passages: list[Document] = []
            if with_content:
                cleaned = cleaner.run(documents=with_content)["documents"]
                passages = splitter.run(documents=cleaned)["documents"] if splitter else cleaned
            pending.extend(passages)
            progress.read(len(chunk), len(passages))
            while len(pending) >= group_size:
                _embed_and_write(pending[:group_size], sink, embedder, summary)
                del pending[:group_size]
                progress.written(group_size)
        _embed_and_write(pending, sink, embedder, summary)
        progress.written(len(pending))
    return summary


class _WrittenProgress:
    """Advances the bar by a chunk's documents once all of the chunk's passages are written."""

    def __init__(self, bar: tqdm) -> None:
        self._bar = bar
        self._chunks: deque[list[int]] = deque()  # [passages still to write, documents] per chunk read

    def read(self, documents: int, passages: int) -> None:
        self._chunks.append([passages, documents])
        self.written(0)

    def written(self, passages: int) -> None:
        while self._chunks and self._chunks[0][0] <= passages:
            left, documents = self._chunks.popleft()
            passages -= left
            self._bar.update(documents)
        if self._chunks:
            self._chunks[0][0] -= passages


def _embed_and_write(passages: list[Document], sink: Sink, embedder: Any, summary: IndexSummary) -> None:
    if not passages:
        return
    stored = sink.stored_ids([p.id for p in passages])
    new = [p for p in passages if p.id not in stored]
    summary.skipped += len(passages) - len(new)
    if not new:
        return
    embedded = [doc for doc in embedder.run(documents=new)["documents"] if doc.embedding is not None]
    if len(embedded) < len(new):
        summary.fail(len(new) - len(embedded), f"{len(new) - len(embedded)} passage(s) could not be embedded")
    try:
        summary.passages_written += sink.write(embedded)
    except PassagesNotWrittenError as error:
        summary.fail(len(error.ids), str(error))


# The credentials opensearch-haystack's store reads, so the store and the cluster embedder log in alike.
ENV_CREDENTIALS = (
    Secret.from_env_var("OPENSEARCH_USERNAME", strict=False),
    Secret.from_env_var("OPENSEARCH_PASSWORD", strict=False),
)


def indexing_components(
    model: PretrainedModel,
    target: Target,
    *,
    remote_model_id: str | None = None,
    split: bool = True,
    window: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
) -> tuple[ModelTokenSplitter | None, Any]:
    """The splitter (None without splitting) and document embedder that ``index`` and ``evaluate`` share.

    The remote embedder asks the cluster the documents go to; the embedded store has no cluster, so
    ``remote_model_id`` needs an OpenSearch target.
    """
    if remote_model_id is not None:
        if target.hosts is None:
            raise ValueError("--remote MODEL_ID embeds in the cluster: give --opensearch URL --index NAME with it.")
        check_remote_model(model, target.hosts, remote_model_id, **target.tls())
    splitter = ModelTokenSplitter(model.name, model.version, window=window, overlap=overlap) if split else None
    embedder = document_embedder(
        model.name, model.version, remote_model_id=remote_model_id, hosts=target.hosts, http_auth=ENV_CREDENTIALS,
        **target.tls(),
    )  # fmt: skip
    return splitter, embedder


def check_remote_model(
    model: PretrainedModel, hosts: str, model_id: str, *, verify_certs: bool = True, ca_certs: str | None = None
) -> None:
    """Refuse, before anything is read or written, a cluster model that is not deployed or whose vectors do not
    have the size of ``model``'s index; warn when it is another model than the one that sets the tokenizer."""
    settings = ConnectionSettings(hosts, http_auth=ENV_CREDENTIALS, verify_certs=verify_certs, ca_certs=ca_certs)
    client = settings.sync_client()
    try:
        deployed = require_deployed(client, model_id)
    finally:
        client.close()
    produced = (deployed.get("model_config") or {}).get("embedding_dimension")
    if produced is not None and int(produced) != model.dimension:
        raise IndexMismatchError(
            f"ML Commons model {model_id} ({deployed.get('name')}) gives {produced}-dimensional vectors, but "
            f"--model {model.alias} {model.version} makes {model.dimension}-dimensional indices: pass the --model "
            "that the cluster model was registered from."
        )
    if deployed.get("name") != model.name:
        logger.warning(
            "ML Commons model %s is %r, not %s: passages are cut with %s's tokenizer; pass --model with the name "
            "the cluster model was registered from if its token limit differs.",
            model_id, deployed.get("name"), model.name, model.alias,
        )  # fmt: skip


def index_sources(
    sources: Sequence[str | Path],
    target: Target,
    model: PretrainedModel,
    *,
    remote_model_id: str | None = None,
    split: bool = True,
    window: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    group_size: int = PASSAGE_GROUP,
    progress_bar: bool = True,
) -> IndexSummary:
    """The ``index`` command: every document of ``sources`` into ``target``, embedded with ``model``."""
    splitter, embedder = indexing_components(
        model, target, remote_model_id=remote_model_id, split=split, window=window, overlap=overlap
    )
    total = count_documents(sources)
    summary = IndexSummary()
    with open_sink(target, model) as sink:
        index_documents(
            read_documents(sources, summary), sink, splitter=splitter, embedder=embedder, summary=summary,
            total=total, group_size=group_size, progress_bar=progress_bar,
        )  # fmt: skip
    return summary


def search(query: str, target: Target, model: PretrainedModel, *, top_k: int = 10) -> list[Document]:
    """The ``top_k`` source documents for ``query``, best first, each scored by its best passage."""
    if top_k < 1:
        raise ValueError(f"top-k must be 1 or more (how many documents to return), got {top_k}.")
    store = load_store(target, model)
    pipeline = query_pipeline(store, model=model.name, version=model.version, top_k=top_k)
    return pipeline.run({"embedder": {"text": query}})["collapser"]["documents"]
