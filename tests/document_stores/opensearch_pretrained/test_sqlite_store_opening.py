"""How the SQLite store opens a file: its own marker checked first (any other file is refused without a byte
changed), reads read-only (no schema, no lock, no wait behind a writer, a read-only file system works), the schema
only created by a write into a new or empty file."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, SQLiteStoreError
from haystack_integrations.document_stores.opensearch_pretrained.document_store import APPLICATION_ID

MODEL = "all-MiniLM-L6-v2"


def _documents(count: int, seed: int = 0) -> list[Document]:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    return [
        Document(id=f"d{seed}-{i}", content=f"passage {i} about rice", embedding=v.tolist())
        for i, v in enumerate(vectors)
    ]


def _query() -> list[float]:
    return np.random.default_rng(99).standard_normal(384).astype(np.float32).tolist()


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` with the SHA-256 of its bytes."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def _foreign_database(path: Path, *, wal: bool) -> None:
    """Another application's database, with a table named as the store's own."""
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT)")
    connection.execute("INSERT INTO documents (title) VALUES ('theirs')")
    connection.commit()
    connection.close()


@pytest.mark.parametrize("wal", [False, True])
@pytest.mark.parametrize("operation", ["count", "search", "write", "write-no-model"])
def test_another_applications_database_is_refused_without_a_byte_changed(tmp_path, wal, operation):
    path = tmp_path / "app.db"
    _foreign_database(path, wal=wal)
    before = _snapshot(tmp_path)
    store = SQLiteDocumentStore(path=str(path), model=None if operation == "write-no-model" else MODEL)
    with pytest.raises(SQLiteStoreError) as raised:
        if operation == "count":
            store.count_documents()
        elif operation == "search":
            store.bm25_retrieval("rice")
        else:
            store.write_documents(_documents(3))
    store.close()
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and "not a store written by opensearch-pretrained" in message
    assert _snapshot(tmp_path) == before  # not a byte of it, and no file beside it
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT title FROM documents").fetchall() == [("theirs",)]
    connection.execute("INSERT INTO documents (title) VALUES ('still works')")  # no trigger of ours in it
    connection.close()


def test_a_read_of_a_missing_file_is_refused_and_of_an_empty_one_writes_nothing(tmp_path):
    """A missing file is no store; an empty one (a store whose creator was killed before its first commit) reads
    as an empty store of the model given, and neither read writes anything."""
    empty, missing = tmp_path / "empty.sqlite", tmp_path / "missing.sqlite"
    empty.touch()
    store = SQLiteDocumentStore(path=str(missing), model=MODEL)
    with pytest.raises(SQLiteStoreError, match="No store at"):
        store.count_documents()
    with pytest.raises(SQLiteStoreError, match="No store at"):
        store.embedding_retrieval(_query())
    with pytest.raises(SQLiteStoreError, match="No store at"):
        SQLiteDocumentStore(path=str(empty)).count_documents()  # no model: nothing says what it would hold
    store = SQLiteDocumentStore(path=str(empty), model=MODEL)
    assert store.count_documents() == 0
    assert store.embedding_retrieval(_query()) == [] and store.bm25_retrieval("rice") == []
    assert store.store_model.name.endswith(MODEL)
    store.close()
    assert _snapshot(tmp_path) == {"empty.sqlite": hashlib.sha256(b"").hexdigest()}


def test_a_write_creates_the_store_in_an_empty_file_with_the_marker(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    assert store.write_documents(_documents(5)) == 5
    store.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
    assert SQLiteDocumentStore(path=str(path)).count_documents() == 5


def test_reads_change_no_byte_of_the_store(tmp_path):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(50))
    store.close()
    before = _snapshot(tmp_path)
    reader = SQLiteDocumentStore(path=str(path), model=MODEL)
    assert reader.count_documents() == 50
    assert reader.bm25_retrieval("rice", top_k=3)
    assert reader.embedding_retrieval(_query(), top_k=3)
    reader.close()
    after = _snapshot(tmp_path)
    # SQLite's read-only connection may leave an empty WAL and its index beside the store; the store is untouched.
    assert {name: digest for name, digest in after.items() if name in before} == before


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO documents (id, content, meta) VALUES ('uncommitted', 'rice rice rice', '{}')")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


def test_reads_do_not_wait_for_a_writer_holding_the_lock(tmp_path, assert_exact_dense):
    """Another process holds a write transaction for 60 s; every read returns at once on the last committed state,
    a dense one too."""
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300))
    store.write_documents([Document(id="late", content="rice", embedding=_query())])
    store.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path), "60"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        reader = SQLiteDocumentStore(path=str(path), busy_timeout=600)
        started = time.monotonic()
        assert reader.count_documents() == 301
        assert "uncommitted" not in {d.id for d in reader.bm25_retrieval("rice", top_k=400)}
        assert reader.embedding_retrieval(_query(), top_k=1)[0].id == "late"
        assert_exact_dense(reader, _query())
        assert len(reader.filter_documents({"field": "id", "operator": "==", "value": "late"})) == 1
        elapsed = time.monotonic() - started
        assert holder.poll() is None, "the writer still holds its transaction"
        assert elapsed < 20, f"reads took {elapsed:.1f} s behind a writer (the busy timeout is 600 s)"
        reader.close()
    finally:
        holder.kill()
        holder.wait()


READ_ONLY_SEARCH = """
import sys
import numpy as np
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
store = SQLiteDocumentStore(path=sys.argv[1], model="all-MiniLM-L6-v2")
query = np.random.default_rng(99).standard_normal(384).astype(np.float32).tolist()
bm25, dense = store.bm25_retrieval("rice", top_k=1), store.embedding_retrieval(query, top_k=1)
print(store.count_documents(), bm25[0].id, dense[0].id)
"""


def test_a_store_on_a_read_only_file_system_is_searchable(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    store = SQLiteDocumentStore(path=str(folder / "store.sqlite"), model=MODEL)
    store.write_documents(_documents(40))
    expected = ["40", store.bm25_retrieval("rice", top_k=1)[0].id, store.embedding_retrieval(_query(), top_k=1)[0].id]
    store.close()
    before = _snapshot(folder)
    assert shutil.which("unshare"), "util-linux unshare makes the read-only mount"
    # A private mount namespace: the folder bind-mounted read-only onto itself, visible to this command only.
    script = tmp_path / "search.py"
    script.write_text(READ_ONLY_SEARCH)
    command = (
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
        f"! touch {folder}/probe 2>/dev/null && {sys.executable} {script} {folder / 'store.sqlite'}"
    )
    result = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected
    assert _snapshot(folder) == before


def test_a_relative_path_resolves_when_the_store_is_made_and_is_saved_resolved(tmp_path, monkeypatch):
    from haystack import Pipeline

    from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_bm25_retriever import (
        SQLiteBM25Retriever,
    )

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    store = SQLiteDocumentStore(path="t50.sqlite", model=MODEL)
    store.write_documents(_documents(5))
    store.close()
    pipeline = Pipeline()
    pipeline.add_component("retriever", SQLiteBM25Retriever(document_store=SQLiteDocumentStore(path="t50.sqlite")))
    saved = pipeline.dumps()
    assert str(tmp_path / "a" / "t50.sqlite") in saved

    monkeypatch.chdir(tmp_path / "b")  # loaded elsewhere: the same file, its documents found
    assert len(Pipeline.loads(saved).run({"retriever": {"query": "rice"}})["retriever"]["documents"]) == 5

    # A hand-written relative path names the file in the working directory; none there: refused, nothing created.
    relative = Pipeline.loads(saved.replace(str(tmp_path / "a" / "t50.sqlite"), "t50.sqlite"))
    with pytest.raises(Exception, match="No store at") as raised:
        relative.run({"retriever": {"query": "rice"}})
    assert str(tmp_path / "b" / "t50.sqlite") in str(raised.value)
    assert list((tmp_path / "b").iterdir()) == []
