"""The SQLite store as the embedded default of `index`, `search` and `evaluate` (issue 12): modes and
query_pipeline on it."""

import pytest
from haystack import Document, Pipeline
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore

from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_bm25_retriever import SQLiteBM25Retriever
from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_embedding_retriever import (
    SQLiteEmbeddingRetriever,
)
from haystack_integrations.components.retrievers.opensearch_pretrained.sqlite_hybrid_retriever import (
    SQLiteHybridRetriever,
)
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.app.pipelines import document_embedder, query_inputs, query_pipeline
from opensearch_pretrained_haystack.catalog import get_model

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
TEXTS = {
    "risotto": "A good risotto needs arborio rice and hot stock added one ladle at a time.",
    "webb": "The James Webb telescope observes the early universe in infrared light.",
    "garden": "Tomatoes grow best in full sun with regular watering.",
}
QUESTION = "How long does risotto take with arborio rice?"


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / f"{name}.txt").write_text(text)
    return folder


@pytest.mark.parametrize(
    "mode",
    [
        ["--mode", "dense"],
        ["--mode", "bm25"],
        ["--mode", "hybrid"],
        ["--mode", "hybrid", "--fusion", "rrf"],
        ["--mode", "hybrid", "--fusion", "z_score"],
        [],
    ],
)
def test_index_then_search_on_the_default_sqlite_store_in_each_mode(tmp_path, corpus, capsys, monkeypatch, mode):
    monkeypatch.chdir(tmp_path)
    assert main(["index", str(corpus), "--model-version", "1.0.1"]) == 0
    assert capsys.readouterr().out.startswith("documents read: 3, passages written: 3,")
    store = SQLiteDocumentStore(path=str(tmp_path / "opensearch-pretrained-store.sqlite"))
    assert store.count_documents() == 3 and store.store_model.version == "1.0.1"
    assert main(["search", QUESTION, *mode, "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # BM25 finds only the text sharing a word with the question that is not a stop word ("with" is one).
    assert len(lines) == (1 if "bm25" in mode else 2) and "risotto" in lines[0].split("\t")[2]


def test_bm25_weight_is_checked_and_names_the_users_value(tmp_path, corpus, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["index", str(corpus), "--model-version", "1.0.1"]) == 0
    capsys.readouterr()
    assert main(["search", QUESTION, "--mode", "hybrid", "--bm25-weight", "1.5"]) == 2
    assert capsys.readouterr().err == "error: --bm25-weight 1.5: give a weight between 0 and 1 (dense gets 1 - W).\n"


@pytest.mark.parametrize(
    ("mode", "retriever_type"),
    [("dense", SQLiteEmbeddingRetriever), ("bm25", SQLiteBM25Retriever), ("hybrid", SQLiteHybridRetriever)],
)
def test_query_pipeline_on_the_sqlite_store_round_trips_through_yaml(tmp_path, mode, retriever_type):
    store = SQLiteDocumentStore(path=str(tmp_path / "s.sqlite"), model=MINILM.name, version=MINILM.version)
    documents = [Document(id=name, content=text, meta={"source_id": name}) for name, text in TEXTS.items()]
    store.write_documents(document_embedder(MINILM.name, MINILM.version).run(documents=documents)["documents"])
    pipeline = query_pipeline(
        store, model=MINILM.name, version=MINILM.version, top_k=2, mode=mode, fusion="rrf", bm25_weight=0.3
    )
    loaded = Pipeline.loads(pipeline.dumps())
    assert loaded.to_dict() == pipeline.to_dict()
    retriever = loaded.get_component("retriever")
    assert type(retriever) is retriever_type and retriever.document_store.path == store.path
    if mode == "hybrid":
        assert (retriever.fusion, retriever.bm25_weight) == ("rrf", 0.3)
    assert ("embedder" in loaded.to_dict()["components"]) == (mode != "bm25")
    top = loaded.run(query_inputs(loaded, QUESTION))["collapser"]["documents"]
    assert top[0].id == "risotto"


def test_bm25_and_hybrid_on_opensearch_are_refused_clearly_for_now():
    store = OpenSearchDocumentStore(hosts="http://localhost:9200", index="docs", embedding_dim=384)
    for mode in ("bm25", "sparse", "hybrid"):
        with pytest.raises(ValueError, match=f"--mode {mode} searches the embedded SQLite store"):
            query_pipeline(store, model=MINILM.name, version=MINILM.version, mode=mode)
    with pytest.raises(ValueError, match="Unknown search mode 'splade'"):
        query_pipeline(store, mode="splade")
