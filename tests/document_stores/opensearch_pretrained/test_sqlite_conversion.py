"""A store written in the JSON-lines format converts once into SQLite, with every document and the model record."""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from haystack_integrations.document_stores.opensearch_pretrained.conversion import convert_json_store
from haystack_integrations.document_stores.opensearch_pretrained.json_store import EmbeddedStoreWriter
from opensearch_pretrained_haystack.catalog import get_model


def _json_store(path, count, *, model="msmarco-distilbert-base-tas-b"):
    rng = np.random.default_rng(0)
    documents = [
        Document(content=f"passage {i}", meta={"source_id": f"s{i % 7}"}, embedding=rng.random(768).tolist())
        for i in range(count)
    ]
    with EmbeddedStoreWriter(path, get_model(model)) as writer:
        writer.write(documents)
    return documents


def test_conversion_keeps_documents_vectors_and_model(tmp_path):
    documents = _json_store(tmp_path / "store.json", 2500)
    target = tmp_path / "store.sqlite"
    assert convert_json_store(tmp_path / "store.json", target, batch_size=1000) == 2500
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".lock")  # the JSON writer's lock file stays
    assert leftovers == ["store.json", "store.sqlite"]  # one converted file, no partial conversion left
    store = SQLiteDocumentStore(path=str(target))
    assert (store.store_model.dimension, store.store_model.space_type) == (768, "innerproduct")
    stored = {d.id: d for d in store.filter_documents()}
    assert len(stored) == 2500
    for document in documents[::250]:
        assert stored[document.id].meta == document.meta
        assert stored[document.id].embedding == pytest.approx(document.embedding, rel=1e-6)
    with pytest.raises(FileExistsError):
        convert_json_store(tmp_path / "store.json", target)


def test_a_torn_json_store_converts_its_complete_lines(tmp_path):
    documents = _json_store(tmp_path / "store.json", 10)
    text = (tmp_path / "store.json").read_text()
    (tmp_path / "store.json").write_text(text[: text.rindex(",{") + 40])  # an interrupted last line
    assert convert_json_store(tmp_path / "store.json", tmp_path / "s.sqlite") == 9
    assert {d.id for d in SQLiteDocumentStore(path=str(tmp_path / "s.sqlite")).filter_documents()} == {
        d.id for d in documents[:9]
    }
