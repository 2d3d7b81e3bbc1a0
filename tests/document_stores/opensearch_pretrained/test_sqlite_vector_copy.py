"""The mapped copy of the vectors: appended on write, never trusted when it is not the database's state (another
store at the same path, a database gone back in time, a rewrite by any writer, a writer killed mid-append), and
the blocked, threaded scan over it returns exactly the brute-force top-k."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, knn, vector_cache

MODEL = "all-MiniLM-L6-v2"


def _documents(count: int, *, seed: int, prefix: str = "doc") -> list[Document]:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    return [Document(id=f"{prefix}-{i}", content=f"passage {i}", embedding=v.tolist()) for i, v in enumerate(vectors)]


def _query(seed: int = 99) -> list[float]:
    return np.random.default_rng(seed).standard_normal(384).astype(np.float32).tolist()


def _header(path: Path) -> vector_cache._Header:
    loaded = vector_cache._load(path, 384)
    assert loaded is not None
    return loaded[0]


def _no_rebuild(*_args: object) -> None:
    raise AssertionError("the copy was rebuilt")


def test_writes_append_to_the_copy_and_the_first_search_rebuilds_nothing(tmp_path, monkeypatch, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    documents = _documents(900, seed=1)
    store.write_documents(documents[:300])  # a new store: the first write builds the copy
    build_id = _header(path).build_id
    monkeypatch.setattr(vector_cache, "_build", _no_rebuild)
    for start in (300, 600):
        store.write_documents(documents[start : start + 300])
        header = _header(path)
        assert (header.build_id, header.count) == (build_id, start + 300)
    assert header.state == store._vector_state(store._connect(write=False))  # the copy is the database's state
    assert_exact_dense(store, _query())
    store.close()


WRITE_MORE = """
import sys
import numpy as np
from haystack import Document
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
store = SQLiteDocumentStore(path=sys.argv[1])
vectors = np.random.default_rng(5).standard_normal((200, 384)).astype(np.float32)
store.write_documents([Document(id=f"other-{i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors)])
store.close()
"""


def test_a_searching_process_sees_appends_updates_and_deletes_of_other_writers(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    searcher = SQLiteDocumentStore(path=str(path), model=MODEL)
    searcher.write_documents(_documents(500, seed=2))
    assert_exact_dense(searcher, _query())  # the copy is mapped in this process

    subprocess.run([sys.executable, "-c", WRITE_MORE, str(path)], check=True)  # appends in another process
    assert_exact_dense(searcher, _query())
    assert searcher._cache is not None and len(searcher._cache.keys) == 700

    # A writer that knows nothing of the copy (no generation bump): the triggers still count its rewrites.
    raw = sqlite3.connect(path)
    with raw:
        best = searcher.embedding_retrieval(_query(), top_k=2)
        raw.execute("DELETE FROM documents WHERE id = ?", (best[0].id,))
        far = (-np.asarray(_query(), np.float32)).tobytes()
        raw.execute("UPDATE documents SET embedding = ? WHERE id = ?", (far, best[1].id))
    raw.close()
    assert_exact_dense(searcher, _query())
    assert best[0].id not in {d.id for d in searcher.embedding_retrieval(_query(), top_k=10)}
    searcher.close()


# Dies by SIGKILL inside the copy's update, after rows went into the copy's files and before any header claims them.
KILLED_MID_APPEND = """
import os, signal, sys
import numpy as np
from haystack import Document
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, vector_cache
path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
copy_rows = vector_cache._copy_rows
def copy_then_die(*args):
    copy_rows(*args)
    os.kill(os.getpid(), signal.SIGKILL)
vector_cache._copy_rows = copy_then_die
vectors = np.random.default_rng(first).standard_normal((count, 384)).astype(np.float32)
store = SQLiteDocumentStore(path=path, model="all-MiniLM-L6-v2")
store.write_documents([Document(id=f"k-{first + i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors)])
"""


@pytest.mark.parametrize("existing", [0, 300], ids=["killed-building", "killed-appending"])
def test_kill_9_while_the_copy_is_updated_leaves_nothing_trusted_wrong(tmp_path, existing, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    if existing:
        store = SQLiteDocumentStore(path=str(path), model=MODEL)
        store.write_documents(_documents(existing, seed=3))
        store.close()
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_APPEND, str(path), "0", "400"], check=False)
    assert killed.returncode == -9
    store = SQLiteDocumentStore(path=str(path))
    assert store.count_documents() == existing + 400  # the documents were committed before the copy was touched
    assert_exact_dense(store, _query())
    store.write_documents(_documents(100, seed=4, prefix="after"))  # appends past what the killed writer left
    assert_exact_dense(store, _query(7))
    assert _header(path).count == existing + 500
    assert not list(tmp_path.glob("*.tmp"))  # a killed build leaves its temporary files; none here is trusted
    store.close()


def test_a_new_store_at_the_same_path_does_not_trust_the_old_copy(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    first = SQLiteDocumentStore(path=str(path), model=MODEL)
    first.write_documents(_documents(300, seed=5))  # generation 1
    first.close()
    path.unlink()  # the copy files stay behind
    second = SQLiteDocumentStore(path=str(path), model=MODEL)
    second.write_documents(_documents(300, seed=6))  # generation 1 again, other vectors
    assert_exact_dense(second, _query())
    second.close()


def test_a_database_gone_back_to_an_earlier_state_does_not_trust_the_newer_copy(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=7))
    store.close()  # the last close checkpoints the WAL: one file holds the store
    shutil.copy(path, tmp_path / "earlier.sqlite")
    store.write_documents(_documents(100, seed=8, prefix="lost"))
    store.close()
    shutil.copy(tmp_path / "earlier.sqlite", path)  # as a power loss may leave it: the copy holds lost writes
    store.write_documents(_documents(100, seed=9, prefix="new"))  # the same generation, other rows
    assert_exact_dense(store, _query())
    store.close()


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(knn, "BLOCK_ROWS", 64)  # many blocks, scored on the worker threads


@pytest.mark.usefixtures("small_blocks")
def test_the_blocked_threaded_scan_equals_brute_force_with_filters(tmp_path, assert_exact_dense, brute_force):
    store = SQLiteDocumentStore(path=str(tmp_path / "store.sqlite"), model="paraphrase-MiniLM-L3-v2")  # cosine
    documents = _documents(1000, seed=11)
    for i, document in enumerate(documents):
        document.meta["even"] = i % 2 == 0
    store.write_documents(documents)
    assert_exact_dense(store, _query(), top_k=50)
    even = {"field": "meta.even", "operator": "==", "value": True}
    found = [d.id for d in store.embedding_retrieval(_query(), top_k=20, filters=even)]
    expected = [doc_id for doc_id, _ in brute_force(store, _query(), 1000) if int(doc_id.split("-")[1]) % 2 == 0]
    assert found == expected[:20]
    store.close()


@pytest.mark.usefixtures("small_blocks")
def test_ties_rank_by_order_of_writing_across_blocks(tmp_path):
    store = SQLiteDocumentStore(path=str(tmp_path / "store.sqlite"), model=MODEL)
    same = np.ones(384, np.float32).tolist()
    others = _documents(500, seed=12)
    tied = [Document(id=f"tie-{i}", content="t", embedding=same) for i in range(300)]
    store.write_documents([d for pair in zip(others[:300], tied, strict=True) for d in pair] + others[300:])
    found = store.embedding_retrieval(same, top_k=25)
    assert [d.id for d in found] == [f"tie-{i}" for i in range(25)]
    store.close()
