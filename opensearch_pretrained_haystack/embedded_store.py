"""The embedded default store: Haystack's ``InMemoryDocumentStore`` kept in a file, so nothing needs a cluster.

The file is exactly what ``InMemoryDocumentStore.save_to_disk`` writes (one JSON object), laid out one document
per line and written as documents arrive. So indexing never holds the corpus in memory, an interrupted run
leaves every finished line usable (the next run drops a torn last line and appends), and Haystack's own
``InMemoryDocumentStore.load_from_disk`` reads a completed file. The header also records the model, so a
store built for one model refuses documents embedded by another.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import DuplicatePolicy

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError
from opensearch_pretrained_haystack.store import require_same_space

MODEL_KEY = "opensearch_pretrained"
_CLOSING = "]}\n"


class EmbeddedStoreError(OpenSearchPretrainedError):
    """A store file that is not one this package wrote."""


def similarity_for(space_type: str) -> str:
    """The in-memory store's similarity ranking like the k-NN space (l2 and cosine rank alike on unit vectors)."""
    return "dot_product" if space_type == "innerproduct" else "cosine"


def new_embedded_store(model: PretrainedModel) -> InMemoryDocumentStore:
    """An empty in-memory store scoring as the model's k-NN space would."""
    return InMemoryDocumentStore(embedding_similarity_function=similarity_for(model.space_type))


def read_store_model(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model record (name, version, dimension, space_type) of a store file."""
    with open(path, encoding="utf-8") as file:
        return _parse_header(file.readline(), path)[MODEL_KEY]


def load_embedded_store(path: str | os.PathLike[str], batch_size: int = 1000) -> InMemoryDocumentStore:
    """Load a store file (complete, or torn by an interruption) into an ``InMemoryDocumentStore``."""
    with open(path, encoding="utf-8") as file:
        header = _parse_header(file.readline(), path)
        store = InMemoryDocumentStore(**header["init_parameters"])
        batch: list[Document] = []
        for _, document in _document_lines(file):
            batch.append(Document.from_dict(document))
            if len(batch) >= batch_size:
                store.write_documents(batch, policy=DuplicatePolicy.OVERWRITE)
                batch = []
        store.write_documents(batch, policy=DuplicatePolicy.OVERWRITE)
    return store


class EmbeddedStoreWriter:
    """Appends embedded documents to a store file; reopening it resumes after the last complete document.

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

    def __enter__(self) -> Self:
        if self.path.exists() and self.path.stat().st_size > 0:
            self._file = self._reopen()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8")
            self._file.write(self._header())
        return self

    def write(self, documents: list[Document]) -> int:
        """Append documents (already embedded); returns how many were written. Each line is flushed at once."""
        assert self._file is not None, "use EmbeddedStoreWriter as a context manager"
        for document in documents:
            separator = "," if self.written_ids else ""
            self._file.write(separator + json.dumps(_document_dict(document)) + "\n")
            self.written_ids.add(document.id)
        self._file.flush()
        return len(documents)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._file is not None
        self._file.write(_CLOSING)  # also after an error: what was written stays a loadable store
        self._file.close()
        self._file = None

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
        """Check the file's model, collect its ids, cut off the closing line or a torn last line, append."""
        with open(self.path, encoding="utf-8") as file:
            header = _parse_header(file.readline(), self.path)
            record = header[MODEL_KEY]
            require_same_space(
                f"Store file {str(self.path)!r}", (record["dimension"], record["space_type"]), self.model,
                self.model.space_type,
            )  # fmt: skip
            end = file.tell()
            for end, document in _document_lines(file):
                self.written_ids.add(document["id"])
        handle = open(self.path, "r+", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        handle.seek(end)
        handle.truncate()
        return handle


def _document_dict(document: Document) -> dict[str, Any]:
    """``Document.to_dict(flatten=False)``, without its deep copy of every vector component (which costs more
    than embedding a short text)."""
    data = replace(document, embedding=None).to_dict(flatten=False)
    data["embedding"] = document.embedding
    return data


def _parse_header(line: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        header = json.loads(line.rstrip().removesuffix('"documents": [').rstrip().rstrip(",") + "}")
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or MODEL_KEY not in header:
        raise EmbeddedStoreError(
            f"{str(path)!r} is not a store file written by opensearch-pretrained (no model header on its first "
            "line). Pass another --store path, or remove the file to start a new store."
        )
    return header


def _document_lines(file: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each complete document line as (file offset after it, parsed document); stops at the closing line or a
    torn line (an interrupted write)."""
    while line := file.readline():
        if not line.endswith("\n") or line == _CLOSING:
            return
        try:
            document = json.loads(line.removeprefix(","))
        except json.JSONDecodeError:
            return
        yield file.tell(), document
