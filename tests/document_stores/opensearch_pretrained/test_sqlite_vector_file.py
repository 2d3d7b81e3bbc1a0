"""The vector file, the only copy of the vectors: appended under the write lock before the commit that claims its
rows, never read past the committed count (whatever a killed or rolled-back writer left), compacted when mostly dead,
any damaged byte found (one clear error, never a wrong answer), and the blocked, threaded scan over it returns exactly
the brute-force top-k."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, knn, vector_file
from haystack_integrations.document_stores.opensearch_pretrained.vector_file import VectorFileError
from opensearch_pretrained_haystack.text_analysis import DEFAULT_ANALYZER, get_analyzer

MODEL = "all-MiniLM-L6-v2"


def _documents(count: int, *, seed: int, prefix: str = "doc") -> list[Document]:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    return [Document(id=f"{prefix}-{i}", content=f"passage {i}", embedding=v.tolist()) for i, v in enumerate(vectors)]


def _query(seed: int = 99) -> list[float]:
    return np.random.default_rng(seed).standard_normal(384).astype(np.float32).tolist()


def _state(path: Path) -> vector_file.VectorState:
    connection = sqlite3.connect(path)
    try:
        return vector_file.read_state(connection)
    finally:
        connection.close()


def _dead(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT count(*) FROM dead_vectors").fetchone()[0])
    finally:
        connection.close()


def _files(path: Path) -> list[str]:
    return sorted(file.name for file in path.parent.glob(path.name + "-vector*"))


def test_each_vector_is_stored_once_and_writes_append(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    documents = _documents(900, seed=1)
    for start in (0, 300, 600):
        store.write_documents(documents[start : start + 300])
        assert _state(path).count == start + 300
    assert _files(path) == ["store.sqlite-vector-norms.0", "store.sqlite-vectors.0"]
    assert (tmp_path / "store.sqlite-vectors.0").stat().st_size == 64 + 900 * 384 * 4
    connection = sqlite3.connect(path)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(documents)")}
    connection.close()
    assert "embedding" not in columns  # no BLOB copy in the database
    assert store.filter_documents()[5].embedding == documents[5].embedding  # read back from the file, exactly
    assert_exact_dense(store, _query())
    store.close()


WRITE_MORE = """
import sys
import numpy as np
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
store = SQLiteDocumentStore(path=sys.argv[1])
vectors = np.random.default_rng(5).standard_normal((200, 384)).astype(np.float32)
store.write_documents([Document(id=f"other-{i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors)])
store.write_documents([Document(id=sys.argv[2], content="moved", embedding=(-vectors[0]).tolist())],
                      policy=DuplicatePolicy.OVERWRITE)
store.close()
"""


def test_a_searching_process_sees_appends_updates_and_deletes_of_other_writers(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    searcher = SQLiteDocumentStore(path=str(path), model=MODEL)
    searcher.write_documents(_documents(500, seed=2))
    best = [d.id for d in searcher.embedding_retrieval(_query(), top_k=2)]  # the file is mapped in this process
    subprocess.run([sys.executable, "-c", WRITE_MORE, str(path), best[1]], check=True)  # appends and a new vector
    assert_exact_dense(searcher, _query())
    assert best[1] not in {d.id for d in searcher.embedding_retrieval(_query(), top_k=10)}
    raw = sqlite3.connect(path)  # a writer that knows nothing of the file: the triggers record the dead row
    with raw:
        raw.execute("DELETE FROM documents WHERE id = ?", (best[0],))
    raw.close()
    assert_exact_dense(searcher, _query())
    assert best[0] not in {d.id for d in searcher.embedding_retrieval(_query(), top_k=10)}
    assert _state(path).count == 701 and _dead(path) == 2
    searcher.close()


# Dies by SIGKILL at a named point of a write: after its vectors were appended and synced, before the commit.
KILLED = """
import os, signal, sys
import numpy as np
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, vector_file
path, point = sys.argv[1], sys.argv[2]
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
store = SQLiteDocumentStore(path=path, model="all-MiniLM-L6-v2")
vectors = np.random.default_rng(8).standard_normal((400, 384)).astype(np.float32)
documents = [Document(id=f"k-{i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors)]
if point == "appended":
    vector_file._record_chunks = die
    store.write_documents(documents)
elif point == "compacting":  # the new file written and synced, its commit not yet made
    vector_file._ChunkHashes.rows = die
    store.delete_documents([f"doc-{i}" for i in range(200)])
else:  # "compacted": committed, the old file not yet removed
    vector_file.remove_file = die
    store.delete_documents([f"doc-{i}" for i in range(200)])
"""


@pytest.mark.parametrize("point", ["appended", "compacting", "compacted"])
def test_kill_9_at_any_point_of_a_write_leaves_a_store_that_opens_and_searches_exactly(
    tmp_path, point, assert_exact_dense
):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=3))
    store.close()
    killed = subprocess.run([sys.executable, "-c", KILLED, str(path), point], check=False)
    assert killed.returncode == -9
    store = SQLiteDocumentStore(path=str(path))
    expected = {"appended": 300, "compacting": 100, "compacted": 100}[point]
    assert store.count_documents() == expected
    assert_exact_dense(store, _query(), top_k=50)
    assert _state(path).file == (1 if point == "compacted" else 0)
    store.write_documents(_documents(100, seed=4, prefix="after"))  # appends past what the killed writer left
    assert_exact_dense(store, _query(7), top_k=50)
    assert _state(path).count == (200 if point == "compacted" else 400)
    store.delete_documents([f"doc-{i}" for i in range(300)] + [f"after-{i}" for i in range(60)])
    number = _state(path).file
    assert number == (2 if point == "compacted" else 1)  # compacted, leftovers removed
    assert _files(path) == [f"store.sqlite-vector-norms.{number}", f"store.sqlite-vectors.{number}"]
    assert_exact_dense(store, _query(7), top_k=50)
    store.close()


def test_a_new_store_at_the_same_path_does_not_read_the_old_files(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    first = SQLiteDocumentStore(path=str(path), model=MODEL)
    first.write_documents(_documents(300, seed=5))
    first.close()
    path.unlink()  # the vector files stay behind
    second = SQLiteDocumentStore(path=str(path), model=MODEL)
    second.write_documents(_documents(200, seed=6))
    assert_exact_dense(second, _query())
    assert _state(path).count == 200
    second.close()


def test_a_database_gone_back_to_an_earlier_state_reads_only_its_own_rows(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=7))
    store.close()  # the last close checkpoints the WAL: one file holds the store
    shutil.copy(path, tmp_path / "earlier.sqlite")
    store.write_documents(_documents(100, seed=8, prefix="lost"))
    store.close()
    shutil.copy(tmp_path / "earlier.sqlite", path)  # as a power loss may leave it: the file holds lost rows
    reopened = SQLiteDocumentStore(path=str(path))
    assert_exact_dense(reopened, _query())
    reopened.write_documents(_documents(100, seed=9, prefix="new"))  # written over the lost rows
    assert_exact_dense(reopened, _query())
    assert {d.id.split("-")[0] for d in reopened.embedding_retrieval(_query(), top_k=400)} == {"doc", "new"}
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
    store.delete_documents([f"doc-{i}" for i in range(0, 1000, 3)])  # dead rows inside every block
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


def _zero_a_block_of_vectors(vectors: Path, norms: Path) -> None:
    with open(vectors, "r+b") as file:
        file.seek(64 + 100 * 384 * 4)
        file.write(bytes(150 * 384 * 4))


def _flip_squared_norms(vectors: Path, norms: Path) -> None:
    values = np.fromfile(norms, np.float64, offset=64)
    with open(norms, "r+b") as file:
        file.seek(64)
        file.write((-values).tobytes())


def _flip_one_bit_in_the_last_row(vectors: Path, norms: Path) -> None:
    with open(vectors, "r+b") as file:
        file.seek(-3, 2)
        byte = file.read(1)
        file.seek(-3, 2)
        file.write(bytes([byte[0] ^ 1]))


def _truncate(vectors: Path, norms: Path) -> None:
    with open(vectors, "r+b") as file:
        file.truncate(vectors.stat().st_size - 384 * 4)


def _garbage(vectors: Path, norms: Path) -> None:
    vectors.write_bytes(np.random.default_rng(0).bytes(vectors.stat().st_size))


def _another_stores_header(vectors: Path, norms: Path) -> None:
    with open(vectors, "r+b") as file:
        file.seek(8)
        file.write(bytes(16))


def _delete_the_vectors(vectors: Path, norms: Path) -> None:
    vectors.unlink()


def _delete_the_norms(vectors: Path, norms: Path) -> None:
    norms.unlink()


DAMAGE = [
    _zero_a_block_of_vectors, _flip_squared_norms, _flip_one_bit_in_the_last_row, _truncate, _garbage,
    _another_stores_header, _delete_the_vectors, _delete_the_norms,
]  # fmt: skip


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(vector_file, "CHUNK_ROWS", 64)  # many checksummed chunks, and a partial last one


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("then", ["search", "write-then-search"])
@pytest.mark.parametrize("damage", DAMAGE, ids=lambda damage: damage.__name__.strip("_"))
def test_any_damage_to_the_vector_file_is_one_clear_error_never_a_wrong_answer(tmp_path, damage, then):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=13))
    store.write_documents(_documents(100, seed=14, prefix="appended"))  # the checksums carry on across appends
    store.delete_documents([f"doc-{i}" for i in range(0, 300, 7)])  # dead rows
    store.close()
    damage(*vector_file.file_paths(path, 0))
    reopened = SQLiteDocumentStore(path=str(path))
    if then == "write-then-search":  # an append checks the last chunk: it must not bless damage there
        try:
            reopened.write_documents(_documents(10, seed=18, prefix="later"))
        except VectorFileError as error:
            assert "\n" not in str(error)
            assert reopened.count_documents() == 357  # rolled back whole
    with pytest.raises(VectorFileError) as raised:
        reopened.embedding_retrieval(_query(), top_k=50)
    message = str(raised.value)
    assert "\n" not in message and str(tmp_path / "store.sqlite-vector") in message
    assert reopened.bm25_retrieval("passage", top_k=3)  # the rest of the store still answers
    reopened.close()


@pytest.mark.usefixtures("small_chunks")
def test_the_file_is_checked_once_per_process_then_only_what_writes_append(tmp_path, monkeypatch, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=15))
    store.close()
    checked: list[int] = []
    hash_bytes = vector_file._hash

    def counting_hash(data: object) -> int:
        if isinstance(data, memoryview) and data.format == "f":  # the vectors (norms are doubles)
            checked.append(data.nbytes)
        return hash_bytes(data)  # type: ignore[arg-type]

    monkeypatch.setattr(vector_file, "_hash", counting_hash)
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


@pytest.mark.usefixtures("small_chunks")
def test_writes_of_any_size_record_hashes_a_new_reader_checks_chunk_by_chunk(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    documents = _documents(400, seed=21)
    start = 0
    for size in (1, 63, 2, 130, 64, 140):  # into a partial chunk, up to a boundary, across several
        store.write_documents(documents[start : start + size])
        start += size
    store.close()
    reader = SQLiteDocumentStore(path=str(path))  # checks every chunk against the hashes the writes recorded
    assert_exact_dense(reader, _query(), top_k=20)
    assert [d.embedding for d in reader.filter_documents()] == [d.embedding for d in documents]
    reader.close()


def test_a_directory_where_the_vector_file_goes_is_one_clear_error_and_nothing_is_written(tmp_path):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents([Document(id="text only", content="passage")])  # no vector yet: no file
    vectors = vector_file.file_paths(path, 0)[0]
    vectors.mkdir()
    with pytest.raises(VectorFileError, match="is a directory") as raised:
        store.write_documents(_documents(5, seed=24))
    assert str(vectors) in str(raised.value) and "\n" not in str(raised.value)
    assert store.count_documents() == 1  # rolled back whole
    assert store.bm25_retrieval("passage", top_k=3)
    store.close()


def test_new_vectors_and_deletes_leave_dead_rows_until_they_outnumber_the_live(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    documents = _documents(600, seed=19)
    store.write_documents(documents)
    best = [d.id for d in store.embedding_retrieval(_query(), top_k=3)]
    store.delete_documents([best[0]])
    assert_exact_dense(store, _query())
    ids = [best[1], "doc-1", "doc-2", "doc-3", "doc-599"]  # new vectors for five documents, one the second best
    moved = [replace(document, id=new_id) for document, new_id in zip(_documents(5, seed=20), ids, strict=True)]
    store.write_documents(moved, policy=DuplicatePolicy.OVERWRITE)
    assert_exact_dense(store, _query(), top_k=30)
    store.delete_by_filter({"field": "id", "operator": "in", "value": ["doc-5", "doc-599", "doc-6"]})
    store.write_documents([Document(id="doc-7", content="no vector now")], policy=DuplicatePolicy.OVERWRITE)
    assert_exact_dense(store, _query(), top_k=30)
    assert (_state(path).count, _dead(path), _state(path).file) == (605, 1 + 5 + 3 + 1, 0)
    assert_exact_dense(SQLiteDocumentStore(path=str(path)), _query(7), top_k=30)  # a new reader checks it all
    store.delete_documents([f"doc-{i}" for i in range(8, 400)])  # now most rows are dead: compacted
    live = sum(document.embedding is not None for document in store.filter_documents())
    assert (_state(path).file, _state(path).count, _dead(path)) == (1, live, 0)
    assert _files(path) == ["store.sqlite-vector-norms.1", "store.sqlite-vectors.1"]
    assert_exact_dense(store, _query(), top_k=30)
    assert [d.embedding for d in store.filter_documents({"field": "id", "operator": "==", "value": "doc-3"})] == [
        moved[3].embedding
    ]
    store.close()


def test_a_reader_of_the_file_a_compaction_replaced_reads_the_next_snapshot(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    reader = SQLiteDocumentStore(path=str(path), model=MODEL)
    reader.write_documents(_documents(400, seed=21))
    assert_exact_dense(reader, _query())  # file 0 mapped and checked
    writer = SQLiteDocumentStore(path=str(path))
    writer.delete_documents([f"doc-{i}" for i in range(300)])
    writer.close()
    assert _state(path).file == 1 and not vector_file.file_paths(path, 0)[0].exists()
    assert_exact_dense(reader, _query())
    assert len(reader.filter_documents()) == 100
    reader.close()


# The layout of version 1 (vectors as BLOBs in the rows), as the previous release created it.
VERSION_1 = (
    "PRAGMA application_id = 1330860104",
    """CREATE TABLE store_info (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), schema_version INTEGER NOT NULL,
    model_name TEXT NOT NULL, model_version TEXT NOT NULL, dimension INTEGER NOT NULL, space_type TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0, store_id BLOB NOT NULL, rewrites INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE documents (pk INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, content TEXT, meta TEXT NOT NULL,
    embedding BLOB, extra TEXT)""",
    """CREATE VIRTUAL TABLE documents_fts USING fts5(content, content='documents', content_rowid='pk',
    tokenize='{tokenizer}')""",
    """CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts(rowid, content) VALUES (new.pk, new.content); END""",
    """CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, content) VALUES ('delete', old.pk, old.content); END""",
    """CREATE TRIGGER documents_au AFTER UPDATE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, content) VALUES ('delete', old.pk, old.content);
    INSERT INTO documents_fts(rowid, content) VALUES (new.pk, new.content); END""",
    """CREATE TRIGGER documents_vector_ad AFTER DELETE ON documents WHEN old.embedding IS NOT NULL
    BEGIN UPDATE store_info SET rewrites = rewrites + 1; END""",
    """CREATE TRIGGER documents_vector_au AFTER UPDATE OF pk, embedding ON documents
    WHEN old.embedding IS NOT new.embedding OR old.pk != new.pk
    BEGIN UPDATE store_info SET rewrites = rewrites + 1; END""",
    """INSERT INTO store_info (singleton, schema_version, model_name, model_version, dimension, space_type, store_id)
    VALUES (1, 1, 'all-MiniLM-L6-v2', '1.0.1', 384, 'l2', randomblob(16))""",
)


def test_a_store_of_the_previous_layout_is_upgraded_by_its_first_reader(tmp_path, assert_exact_dense):
    path = tmp_path / "store.sqlite"
    old = sqlite3.connect(path)
    for statement in VERSION_1:
        old.execute(statement.format(tokenizer=get_analyzer(DEFAULT_ANALYZER).fts5_tokenizer))
    documents = _documents(300, seed=25)
    old.executemany(
        "INSERT INTO documents (id, content, meta, embedding) VALUES (?, ?, ?, ?)",
        [
            (d.id, d.content, f'{{"n": {i}}}', np.asarray(d.embedding, np.float32).tobytes())
            for i, d in enumerate(documents)
        ]
        + [("text only", "passage without a vector", "{}", None)],
    )
    old.execute("DELETE FROM documents WHERE id = 'doc-5'")
    old.commit()
    old.close()
    (tmp_path / "store.sqlite-vectors").write_bytes(b"the old derived copy")
    store = SQLiteDocumentStore(path=str(path))
    assert_exact_dense(store, _query(), top_k=30)
    assert store.count_documents() == 300
    assert (
        store.filter_documents({"field": "id", "operator": "==", "value": "doc-7"})[0].embedding
        == documents[7].embedding
    )
    assert store.filter_documents({"field": "meta.n", "operator": "==", "value": 9})[0].id == "doc-9"
    assert [d.id for d in store.bm25_retrieval("without", top_k=3)] == ["text only"]
    assert _files(path) == ["store.sqlite-vector-norms.0", "store.sqlite-vectors.0"]
    connection = sqlite3.connect(path)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(documents)")}
    assert "embedding" not in columns and connection.execute("SELECT schema_version FROM store_info").fetchone() == (2,)
    connection.close()
    store.write_documents(_documents(10, seed=26, prefix="new"))
    store.delete_documents([f"doc-{i}" for i in range(200)])
    assert_exact_dense(store, _query(), top_k=30)
    store.close()


def test_a_delete_on_a_damaged_file_is_committed_and_its_compaction_left_with_one_warning(tmp_path, caplog):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    store.write_documents(_documents(300, seed=27))
    _zero_a_block_of_vectors(*vector_file.file_paths(path, 0))
    store.delete_documents([f"doc-{i}" for i in range(200)])  # most rows dead: compaction would copy damage
    assert store.count_documents() == 100
    assert [record.message for record in caplog.records if "not compacted" in record.message] != []
    assert _state(path).file == 0  # nothing damaged was copied into a new file
    with pytest.raises(VectorFileError, match="fail their checksum"):
        store.embedding_retrieval(_query())
    store.close()
