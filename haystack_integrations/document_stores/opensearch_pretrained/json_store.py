"""The embedded default store: Haystack's ``InMemoryDocumentStore`` kept in a file, so nothing needs a cluster.

The file is exactly what ``InMemoryDocumentStore.save_to_disk`` writes (one JSON object), laid out one document
per line and written as documents arrive. So indexing never holds the corpus in memory, an interrupted run
leaves every finished line usable (the next run drops a torn last line and appends), and Haystack's own
``InMemoryDocumentStore.load_from_disk`` reads a completed file. The header also records the model, so a
store built for one model refuses documents embedded by another. Reading is strict: only a torn last line is
an interruption; any other damage is an error naming the file and line, and the file is left as it is. A lock
file keeps two writers from appending at once.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

from filelock import FileLock, Timeout
from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import DuplicatePolicy

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.compatibility import require_same_space
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError

logger = logging.getLogger(__name__)

MODEL_KEY = "opensearch_pretrained"
_CLOSING = b"]}\n"


class EmbeddedStoreError(OpenSearchPretrainedError):
    """A store file that is not one this package wrote, or one damaged otherwise than by an interrupted write."""


class StoreFileReader:
    """Reads a store file strictly, one line at a time (the writer, ``search`` and a converter to another format
    share it, so none holds the file in memory).

    A write always ends with its newline, so an interrupted one can only leave a last line without one: that
    line alone counts as torn. Any other line that is not a document this package wrote raises
    ``EmbeddedStoreError`` naming the file and line, so nothing is cut or skipped silently. Once ``documents()``
    is exhausted, ``incomplete()`` says whether the run that wrote the file finished.

    Usage example:
    ```python
    with StoreFileReader("store.json") as reader:
        ids = [document["id"] for document in reader.documents()]
        if (why := reader.incomplete()) is not None:
            print(why)
    ```
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.header: dict[str, Any] = {}
        self.documents_read = 0
        self.end = 0  # byte offset after the header or the last complete document line: where appending resumes
        self.closed = False  # the closing line was read: the writing run finished
        self.torn = False  # the last line was cut off in the middle of a write
        self._file: IO[bytes] | None = None

    def __enter__(self) -> Self:
        self._file = open(self.path, "rb")
        try:
            self.header = _parse_header(self._file.readline(), self.path)
        except BaseException:
            self._file.close()
            raise
        self.end = self._file.tell()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None

    @property
    def model(self) -> dict[str, Any]:
        """The model record (name, version, dimension, space_type) of the store."""
        return dict(self.header[MODEL_KEY])

    def documents(self) -> Iterator[dict[str, Any]]:
        """Each stored document as the dict ``Document.from_dict`` reads, in file order."""
        assert self._file is not None, "use StoreFileReader as a context manager"
        number = 1
        while line := self._file.readline():
            number += 1
            if not line.endswith(b"\n"):
                self.torn = True
                return
            if line == _CLOSING:
                self.closed = True
                if self._file.read(1):
                    raise self._damaged(number + 1, "text after the closing line")
                return
            document = self._document(line, number)
            self.end = self._file.tell()
            self.documents_read += 1
            yield document

    def incomplete(self) -> str | None:
        """Why the store is incomplete, or None when the run that wrote it finished."""
        if self.closed:
            return None
        how = "its last line was cut off in the middle of a write" if self.torn else "it has no closing line"
        return (
            f"store file {str(self.path)!r} is incomplete: {self.documents_read} documents read; {how}, so the last "
            "`index` run into it was interrupted (or is still running). Re-run that `index` command to complete it."
        )

    def _document(self, line: bytes, number: int) -> dict[str, Any]:
        separator = b"," if self.documents_read else b""
        try:
            document = json.loads(line[len(separator) :].decode("utf-8")) if line.startswith(separator) else None
        except UnicodeDecodeError as error:
            raise self._damaged(number, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
        except json.JSONDecodeError as error:
            raise self._damaged(number, f"not JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            where = "first document" if not separator else "a document after the first"
            raise self._damaged(number, f"not {where} as opensearch-pretrained writes it")
        return document

    def _damaged(self, number: int, why: str) -> EmbeddedStoreError:
        return EmbeddedStoreError(
            f"{self.path}:{number}: {why}. The store file is damaged there, not by an interrupted write (which only "
            "cuts off the last line), so it was left unchanged: restore it from a backup, or remove it and index "
            "again."
        )


def similarity_for(space_type: str) -> Literal["dot_product", "cosine"]:
    """The in-memory store's similarity ranking like the k-NN space (l2 and cosine rank alike on unit vectors)."""
    return "dot_product" if space_type == "innerproduct" else "cosine"


def new_embedded_store(model: PretrainedModel) -> InMemoryDocumentStore:
    """An empty in-memory store scoring as the model's k-NN space would."""
    return InMemoryDocumentStore(embedding_similarity_function=similarity_for(model.space_type))


def read_store_model(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model record (name, version, dimension, space_type) of a store file."""
    with StoreFileReader(path) as reader:
        return reader.model


def load_embedded_store(path: str | os.PathLike[str], batch_size: int = 1000) -> InMemoryDocumentStore:
    """Load a store file into an ``InMemoryDocumentStore``. An incomplete one (its writing run was interrupted)
    loads with a warning that says how many documents it holds; a damaged one raises ``EmbeddedStoreError``."""
    with StoreFileReader(path) as reader:
        store = InMemoryDocumentStore(**reader.header["init_parameters"])
        for batch in _batched(reader.documents(), batch_size):
            store.write_documents([Document.from_dict(d) for d in batch], policy=DuplicatePolicy.OVERWRITE)
        if (why := reader.incomplete()) is not None:
            logger.warning("warning: %s", why)
    return store


class EmbeddedStoreWriter:
    """Appends embedded documents to a store file; reopening it resumes after the last complete document.

    One writer at a time: a second one (another ``index`` process) waits on a lock file next to the store
    (``<store>.lock``) until the first has finished, then sees its documents.

    Usage example:
    ```python
    with EmbeddedStoreWriter("store.json", get_model("all-MiniLM-L6-v2")) as writer:
        new = [d for d in documents if d.id not in writer.written_ids]
        writer.write(embedder.run(new)["documents"])
    ```
    """

    def __init__(self, path: str | os.PathLike[str], model: PretrainedModel) -> None:
        self.path = Path(path)
        self.model = model
        self.written_ids: set[str] = set()
        self._file: IO[str] | None = None
        self._lock = FileLock(lock_path(self.path))

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            if self.path.exists() and self.path.stat().st_size > 0:
                self._file = self._reopen()
            else:
                self._file = open(self.path, "w", encoding="utf-8", newline="\n")
                self._file.write(self._header())
        except BaseException:
            self._lock.release()
            raise
        return self

    def write(self, documents: list[Document]) -> int:
        """Append documents (already embedded); returns how many were written. Each call is flushed at once."""
        assert self._file is not None, "use EmbeddedStoreWriter as a context manager"
        for document in documents:
            separator = "," if self.written_ids else ""
            self._file.write(separator + json.dumps(_document_dict(document), allow_nan=False) + "\n")
            self.written_ids.add(document.id)
        self._file.flush()
        return len(documents)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._file is not None
        try:
            self._file.write(_CLOSING.decode())  # also after an error: what was written stays a loadable store
            self._file.close()
        finally:
            self._file = None
            self._lock.release()

    def _acquire(self) -> None:
        try:
            self._lock.acquire(blocking=False)
        except Timeout:
            logger.warning(
                "Store file %s is being written by another run (lock %s): waiting for it to finish.",
                self.path, self._lock.lock_file,
            )  # fmt: skip
            self._lock.acquire()

    def _header(self) -> str:
        store = new_embedded_store(self.model)
        record = {
            "name": self.model.name,
            "version": self.model.version,
            "dimension": self.model.dimension,
            "space_type": self.model.space_type,
        }
        head = json.dumps({**store.to_dict(), MODEL_KEY: record})
        return head[:-1] + ', "documents": [\n'

    def _reopen(self) -> IO[str]:
        """Check the file's model and every line, collect its ids, then cut off the closing line or a torn last
        line and append. A damaged file raises before anything is changed."""
        with StoreFileReader(self.path) as reader:
            record = reader.model
            require_same_space(
                f"Store file {str(self.path)!r}", (record["dimension"], record["space_type"]), self.model,
                self.model.space_type,
            )  # fmt: skip
            self.written_ids.update(document["id"] for document in reader.documents())
        os.truncate(self.path, reader.end)
        return open(self.path, "a", encoding="utf-8", newline="\n")


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file that keeps a second writer of the store file ``path`` waiting."""
    return Path(f"{os.fspath(path)}.lock")


def _batched(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while batch := list(islice(items, size)):
        yield batch


def _document_dict(document: Document) -> dict[str, Any]:
    """``Document.to_dict(flatten=False)``, without its deep copy of every vector component (which costs more
    than embedding a short text)."""
    data = replace(document, embedding=None).to_dict(flatten=False)
    data["embedding"] = document.embedding
    return data


def _parse_header(line: bytes, path: str | os.PathLike[str]) -> dict[str, Any]:
    if not line:
        raise EmbeddedStoreError(
            f"{str(path)!r} is an empty store file (an `index` run was interrupted before it wrote anything): "
            "remove it, or run that `index` command again."
        )
    try:
        text = line.decode("utf-8").rstrip().removesuffix('"documents": [').rstrip().rstrip(",")
        header = json.loads(text + "}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or not isinstance(header.get(MODEL_KEY), dict):
        raise EmbeddedStoreError(
            f"{str(path)!r} is not a store file written by opensearch-pretrained (no model header on its first "
            "line). Pass another --store path, or remove the file to start a new store."
        )
    return header
