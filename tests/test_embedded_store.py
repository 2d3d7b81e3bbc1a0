import json

import pytest
from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore

from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.embedded_store import (
    EmbeddedStoreError,
    EmbeddedStoreWriter,
    load_embedded_store,
    read_store_model,
)
from opensearch_pretrained_haystack.store import IndexMismatchError

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
