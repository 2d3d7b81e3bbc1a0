"""The mapped copy of the vectors: appended on write, never trusted when it is not the database's state (another
store at the same path, a database gone back in time, a rewrite by any writer, a writer killed mid-append) or when
any byte of it is damaged, and the blocked, threaded scan over it returns exactly the brute-force top-k."""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, knn, vector_cache
from haystack_integrations.document_stores.opensearch_pretrained.vector_cache import VectorCopyError

MODEL = "all-MiniLM-L6-v2"


def _documents(count: int, *, seed: int, prefix: str = "doc") -> list[Document]:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    return [Document(id=f"{prefix}-{i}", content=f"passage {i}", embedding=v.tolist()) for i, v in enumerate(vectors)]


def _query(seed: int = 99) -> list[float]:
    return np.random.default_rng(seed).standard_normal(384).astype(np.float32).tolist()


def _header(path: Path) -> vector_cache._Header:
    loaded = vector_cache._load(path, 384)
    assert loaded is not None
    return loaded.header


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
    assert header.state == store._vector_state(store._connect())  # the copy is the database's state
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


def test_a_store_of_the_first_layout_gets_the_copy_state_columns(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(200, seed=10))
    store.close()
    raw = sqlite3.connect(path)
    with raw:
        for statement in (
            "DROP TRIGGER documents_vector_ad", "DROP TRIGGER documents_vector_au",
            "ALTER TABLE store_info DROP COLUMN store_id", "ALTER TABLE store_info DROP COLUMN rewrites",
        ):  # fmt: skip
            raw.execute(statement)
    raw.close()
    reopened = SQLiteDocumentStore(path=str(path))
    assert_exact_dense(reopened, _query())
    reopened.delete_documents([reopened.embedding_retrieval(_query(), top_k=1)[0].id])
    assert_exact_dense(reopened, _query())
    reopened.close()


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


def _zero_a_block_of_vectors(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    with open(vectors, "r+b") as file:
        file.seek(vector_cache._HEADER_SIZE + 100 * 384 * 4)
        file.write(bytes(150 * 384 * 4))


def _flip_squared_norms(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    records = np.fromfile(keys, vector_cache._KEY_RECORD, offset=vector_cache._FILE_HEADER.size)
    records["squared_norm"] = -records["squared_norm"]
    with open(keys, "r+b") as file:
        file.seek(vector_cache._FILE_HEADER.size)
        file.write(records.tobytes())


def _lower_the_header_count(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    count_at = struct.calcsize("<8s16s16sqq")
    with open(vectors, "r+b") as file:
        file.seek(count_at)
        (count,) = struct.unpack("<q", file.read(8))
        file.seek(count_at)
        file.write(struct.pack("<q", count // 2))


def _truncate(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    with open(vectors, "r+b") as file:
        file.truncate(vectors.stat().st_size - 384 * 4)


def _garbage(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    vectors.write_bytes(np.random.default_rng(0).bytes(vectors.stat().st_size))


def _delete_keys(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    keys.unlink()


def _delete_sums(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    sums.unlink()


def _forget_the_dead_rows(vectors: Path, keys: Path, sums: Path, dead: Path) -> None:
    with open(dead, "r+b") as file:  # the positions of the deleted rows, zeroed: searches would return them
        file.seek(vector_cache._FILE_HEADER.size)
        file.write(bytes(dead.stat().st_size - vector_cache._FILE_HEADER.size))


DAMAGE = [
    _zero_a_block_of_vectors, _flip_squared_norms, _lower_the_header_count, _truncate, _garbage, _delete_keys,
    _delete_sums, _forget_the_dead_rows,
]  # fmt: skip


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(vector_cache, "CHUNK_ROWS", 64)  # many checksummed chunks, and a partial last one


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("then", ["search", "write-then-search"])
@pytest.mark.parametrize("damage", DAMAGE, ids=lambda damage: damage.__name__.strip("_"))
def test_any_damage_to_the_copy_is_found_and_the_search_rebuilds_it(tmp_path, damage, then, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=13))
    store.write_documents(_documents(100, seed=14, prefix="appended"))  # the checksums carry on across appends
    store.delete_documents([f"doc-{i}" for i in range(0, 300, 7)])  # dead rows, patched in
    assert _header(path).dead == 43
    build_id = _header(path).build_id
    store.close()
    damage(*vector_cache.cache_paths(path))
    reopened = SQLiteDocumentStore(path=str(path))
    if then == "write-then-search":  # an append must not bless the damage (the last chunk's hashes are recomputed)
        reopened.write_documents(_documents(10, seed=18, prefix="later"))
    assert_exact_dense(reopened, _query(), top_k=50)
    assert _header(path).build_id != build_id  # rebuilt from the SQLite rows
    reopened.close()


@pytest.mark.usefixtures("small_chunks")
def test_the_copy_is_checked_once_per_process_then_only_what_appends_add(tmp_path, monkeypatch, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=15))
    store.close()
    checked: list[int] = []
    hash_bytes = vector_cache._hash

    def counting_hash(data: object) -> int:
        if isinstance(data, memoryview) and data.format == "f":  # the vectors (keys and norms are records)
            checked.append(data.nbytes)
        return hash_bytes(data)  # type: ignore[arg-type]

    monkeypatch.setattr(vector_cache, "_hash", counting_hash)
    reader = SQLiteDocumentStore(path=str(path))
    reader.embedding_retrieval(_query(), top_k=5)
    assert sum(checked) == 300 * 384 * 4  # every vector read once
    checked.clear()
    reader.embedding_retrieval(_query(), top_k=5)
    assert checked == []  # a warm search checks nothing again
    writer = SQLiteDocumentStore(path=str(path))  # another writer (as another process would be): appends 10 rows
    writer.write_documents(_documents(10, seed=16, prefix="more"))
    writer.close()
    checked.clear()
    assert_exact_dense(reader, _query())
    assert sum(checked) == (310 - 256) * 384 * 4  # from the last chunk on
    reader.close()


def test_a_directory_where_the_copy_goes_is_one_clear_error(tmp_path):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(20, seed=17))
    store.close()
    vectors = vector_cache.cache_paths(path)[0]
    vectors.unlink()
    vectors.mkdir()
    reopened = SQLiteDocumentStore(path=str(path))
    with pytest.raises(VectorCopyError, match="is a directory") as raised:
        reopened.embedding_retrieval(_query())
    assert str(vectors) in str(raised.value) and "\n" not in str(raised.value)
    assert reopened.bm25_retrieval("passage", top_k=3)  # the rest of the store still answers
    reopened.close()


def test_deletes_and_replaced_vectors_are_patched_in_not_rebuilt(tmp_path, monkeypatch, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    documents = _documents(600, seed=19)
    store.write_documents(documents)
    monkeypatch.setattr(vector_cache, "_build", _no_rebuild)
    best = [d.id for d in store.embedding_retrieval(_query(), top_k=3)]
    store.delete_documents([best[0]])
    assert_exact_dense(store, _query())
    ids = [best[1], "doc-1", "doc-2", "doc-3", "doc-599"]  # new vectors for five documents, one the second best
    moved = [replace(document, id=new_id) for document, new_id in zip(_documents(5, seed=20), ids, strict=True)]
    store.write_documents(moved, policy=DuplicatePolicy.OVERWRITE)
    assert_exact_dense(store, _query(), top_k=30)
    store.write_documents([Document(id="doc-4", content="same vector again", embedding=documents[4].embedding)],
                          policy=DuplicatePolicy.OVERWRITE)  # fmt: skip
    store.delete_by_filter({"field": "id", "operator": "in", "value": ["doc-5", "doc-599", "doc-6"]})
    assert_exact_dense(store, _query(), top_k=30)
    header = _header(path)
    assert (header.count, header.dead) == (600 + 5, 1 + 5 + 3)  # doc-4 kept its vector: nothing replaced
    assert_exact_dense(SQLiteDocumentStore(path=str(path)), _query(7), top_k=30)  # a new reader checks it all
    store.close()


@pytest.mark.usefixtures("small_chunks")  # (a copy of fewer than CHUNK_ROWS rows is patched up to a quarter of that)
def test_a_copy_a_quarter_dead_is_rebuilt_by_the_next_search(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(400, seed=21))
    build_id = _header(path).build_id
    store.delete_documents([f"doc-{i}" for i in range(50)])
    assert _header(path).build_id == build_id  # patched
    store.delete_documents([f"doc-{i}" for i in range(50, 110)])  # more than a quarter of the copy's rows
    assert_exact_dense(store, _query())
    assert (_header(path).build_id != build_id, _header(path).dead) == (True, 0)
    store.close()


# Dies by SIGKILL while patching the copy after a delete and an overwrite committed.
KILLED_MID_PATCH = """
import os, signal, sys
import numpy as np
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, vector_cache
store = SQLiteDocumentStore(path=sys.argv[1])
store.delete_documents(["doc-3", "doc-4"])
copy_rows = vector_cache._copy_rows
def copy_then_die(*args):
    copy_rows(*args)
    os.kill(os.getpid(), signal.SIGKILL)
vector_cache._copy_rows = copy_then_die
vector = np.random.default_rng(8).standard_normal(384).astype(np.float32).tolist()
store.write_documents([Document(id="doc-5", content="new", embedding=vector)], policy=DuplicatePolicy.OVERWRITE)
"""


def test_kill_9_while_a_delete_or_update_is_patched_in_leaves_the_search_exact(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=22))
    store.close()
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_PATCH, str(path)], check=False)
    assert killed.returncode == -9
    reopened = SQLiteDocumentStore(path=str(path))
    assert reopened.count_documents() == 298
    assert_exact_dense(reopened, _query(), top_k=300)
    reopened.write_documents(_documents(10, seed=23, prefix="after"))
    assert_exact_dense(reopened, _query(3), top_k=300)
    reopened.close()
