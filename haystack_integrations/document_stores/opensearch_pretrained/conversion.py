"""Stores written in the former JSON-lines format, converted once into an SQLite store: no user loses an index.

The JSON file is read line by line with the JSON store's own reader (so its rules about torn and damaged lines
hold here too), written in batches, and the SQLite file appears under its name only when complete: an
interrupted conversion leaves nothing that looks like a finished store, and simply runs again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.opensearch_pretrained.document_store import SQLiteDocumentStore
from haystack_integrations.document_stores.opensearch_pretrained.json_store import StoreFileReader
from haystack_integrations.document_stores.opensearch_pretrained.vector_cache import cache_paths

logger = logging.getLogger(__name__)

CONVERSION_BATCH = 1000


def convert_json_store(
    json_path: str | os.PathLike[str], sqlite_path: str | os.PathLike[str], *, batch_size: int = CONVERSION_BATCH
) -> int:
    """Write every document of the JSON store ``json_path`` into a new SQLite store ``sqlite_path``; returns the
    number of documents. The JSON file is left as it was. Refuses to replace an existing ``sqlite_path``."""
    target = Path(sqlite_path)
    if target.exists():
        raise FileExistsError(f"{target} already exists: it is the converted store, or remove it to convert again.")
    partial = target.with_name(target.name + ".converting")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm"), *cache_paths(partial)):
        leftover.unlink(missing_ok=True)  # an earlier conversion that was interrupted
    with StoreFileReader(json_path) as reader:
        record = reader.model
        store = SQLiteDocumentStore(
            path=str(partial), model=record["name"], version=record["version"], space_type=record["space_type"]
        )
        written = 0
        batch: list[Document] = []
        for document in reader.documents():
            batch.append(Document.from_dict(document))
            if len(batch) >= batch_size:
                written += store.write_documents(batch, policy=DuplicatePolicy.OVERWRITE)
                batch = []
        written += store.write_documents(batch, policy=DuplicatePolicy.OVERWRITE)
        if (why := reader.incomplete()) is not None:  # converted as far as it goes; a re-run of `index` completes it
            logger.warning("warning: %s", why)
    store.close()  # checkpoints the WAL into the file on the last close, so one file holds everything
    for leftover in (Path(f"{partial}-wal"), Path(f"{partial}-shm"), *cache_paths(partial)):
        leftover.unlink(missing_ok=True)  # the vector copy is derived: the first search builds it for the target
    os.replace(partial, target)
    return written
