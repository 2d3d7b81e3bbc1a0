import json
import logging

import pytest
from filelock import FileLock, Timeout
from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore

from haystack_integrations.document_stores.opensearch_pretrained.json_store import (
    EmbeddedStoreError,
    EmbeddedStoreWriter,
    StoreFileReader,
    load_embedded_store,
    lock_path,
    read_store_model,
)
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.indices.knn import IndexMismatchError

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")


def docs(start, stop):
    return [Document(content=f"text {i}", meta={"i": i}, embedding=[float(i)] * 384) for i in range(start, stop)]


def test_written_file_is_a_haystack_in_memory_store(tmp_path):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        assert writer.write(docs(0, 3)) == 3
    store = InMemoryDocumentStore.load_from_disk(str(path))
    assert store.count_documents() == 3
    assert store.embedding_similarity_function == "cosine"
    assert read_store_model(path) == {"name": MINILM.name, "version": "1.0.1", "dimension": 384, "space_type": "l2"}
    assert {d.id for d in load_embedded_store(path).filter_documents()} == {d.id for d in docs(0, 3)}


def test_reopening_resumes_and_knows_what_is_written(tmp_path):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        writer.write(docs(0, 2))
    with EmbeddedStoreWriter(path, MINILM) as writer:
        assert writer.written_ids == {d.id for d in docs(0, 2)}
        writer.write(docs(2, 4))
    assert InMemoryDocumentStore.load_from_disk(str(path)).count_documents() == 4


def test_a_torn_last_line_is_dropped_and_the_rest_kept(tmp_path):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        writer.write(docs(0, 3))
    text = path.read_text()
    path.write_text(text[: text.rindex(",{") + 40])  # killed in the middle of writing the third document
    assert load_embedded_store(path).count_documents() == 2
    with EmbeddedStoreWriter(path, MINILM) as writer:
        assert len(writer.written_ids) == 2
        writer.write(docs(2, 3))
    assert InMemoryDocumentStore.load_from_disk(str(path)).count_documents() == 3


def test_a_store_of_another_model_is_refused(tmp_path):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, get_model("msmarco-distilbert-base-tas-b")) as writer:
        writer.write([])
    before = path.read_text()
    with (
        pytest.raises(IndexMismatchError, match="768-dimensional vectors in space 'innerproduct'"),
        EmbeddedStoreWriter(path, MINILM),
    ):
        pass
    assert path.read_text() == before
    assert load_embedded_store(path).embedding_similarity_function == "dot_product"


def test_a_foreign_file_is_not_taken_for_a_store(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"hello": 1}) + "\n")
    with pytest.raises(EmbeddedStoreError, match="not a store file"):
        load_embedded_store(path)
    with pytest.raises(EmbeddedStoreError), EmbeddedStoreWriter(path, MINILM):
        pass


def test_a_damaged_line_in_the_middle_is_an_error_naming_it_and_nothing_is_cut(tmp_path, capsys):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        writer.write(docs(0, 200))
    lines = path.read_bytes().split(b"\n")
    lines[20] = lines[20][:2] + b"#" + lines[20][3:]  # the 20th document (line 21) damaged, not torn
    path.write_bytes(b"\n".join(lines))
    before = path.read_bytes()
    with pytest.raises(EmbeddedStoreError, match=f"{path}:21: not JSON"):
        load_embedded_store(path)
    with pytest.raises(EmbeddedStoreError, match=f"{path}:21"), EmbeddedStoreWriter(path, MINILM):
        pass
    assert path.read_bytes() == before  # the next `index` changes nothing
    assert main(["search", "anything", "--store", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:21: ") and "Traceback" not in err


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b'{"id": "x", "content": "\xff"}', "not UTF-8"),
        (b'["not", "a", "document"]', "not a document"),
        (b'{"content": "no id"}', "not a document"),
    ],
)
def test_any_line_that_is_not_a_stored_document_is_damage(tmp_path, line, why):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        writer.write(docs(0, 3))
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"," + line
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(EmbeddedStoreError, match=f"{path}:3: {why}"):
        load_embedded_store(path)


def test_text_after_the_closing_line_is_damage(tmp_path):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        writer.write(docs(0, 2))
    path.write_bytes(path.read_bytes() + b',{"id": "late"}\n')
    with pytest.raises(EmbeddedStoreError, match=f"{path}:5: text after the closing line"):
        load_embedded_store(path)


def test_a_store_cut_in_the_middle_loads_with_a_warning_saying_it_is_incomplete(tmp_path, caplog):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        writer.write(docs(0, 10))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with StoreFileReader(path) as reader:
        kept = sum(1 for _ in reader.documents())
    assert 0 < kept < 10
    with caplog.at_level(logging.WARNING):
        assert load_embedded_store(path).count_documents() == kept
    assert f"is incomplete: {kept} documents read" in caplog.text and "interrupted" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["search", "text 3", "--store", str(path), "--top-k", "1"]) == 0
    assert f"is incomplete: {kept} documents read" in caplog.text


def test_a_finished_store_loads_without_a_warning(tmp_path, caplog):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer:
        writer.write(docs(0, 3))
    with caplog.at_level(logging.WARNING):
        load_embedded_store(path)
    assert caplog.text == ""


def test_an_empty_store_file_says_the_run_was_interrupted(tmp_path):
    path = tmp_path / "store.json"
    path.write_bytes(b"")
    with pytest.raises(EmbeddedStoreError, match="empty store file"):
        read_store_model(path)
    with EmbeddedStoreWriter(path, MINILM) as writer:  # an empty file is a new store
        writer.write(docs(0, 1))
    assert load_embedded_store(path).count_documents() == 1


def test_a_second_writer_waits_for_the_lock(tmp_path):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM):
        other = FileLock(lock_path(path))
        with pytest.raises(Timeout):
            other.acquire(timeout=0)
    with FileLock(lock_path(path)).acquire(timeout=0):
        pass  # released when the writer closes


def test_non_finite_numbers_are_never_written(tmp_path):
    path = tmp_path / "store.json"
    with EmbeddedStoreWriter(path, MINILM) as writer, pytest.raises(ValueError, match="Out of range float"):
        writer.write([Document(content="x", meta={"score": float("nan")}, embedding=[0.0] * 384)])
    assert load_embedded_store(path).count_documents() == 0
