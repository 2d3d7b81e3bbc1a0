"""BM25 analysis defined once: the embedded store's FTS5 tokenizer and the OpenSearch index's analyzers cut and
normalize text alike (on the node: ``_analyze`` gives the terms the store indexed, for the text ``index`` wrote)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from opensearchpy import OpenSearch

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.indices.knn import has_analysis_common
from opensearch_pretrained_haystack.text_analysis import ANALYZERS, get_analyzer

SENTENCES = [
    "The patients' cells weren't responding to 3.5 mg/kg doses of IL-6 inhibitors.",
    "Running runners ran quickly; generalizations about organizational hopefulness are relational.",
    "Café au lait, naïve résumés and ΑΒΓ letters: 42nd COVID-19 wave (2020–2021)!",
    "Mutations in BRCA1/BRCA2 genes increased the risk of ovarian cancers by 20%, studies conclude.",
]


def fts5_terms(tokenizer: str, text: str) -> list[str]:
    """The terms FTS5 indexes for ``text`` with ``tokenizer``, in order."""
    connection = sqlite3.connect(":memory:")
    connection.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{tokenizer}')")
    connection.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    connection.execute("INSERT INTO t(x) VALUES (?)", (text,))
    return [row[0] for row in connection.execute("SELECT term FROM v ORDER BY offset")]


def test_english_stems_and_drops_stop_words_from_queries_only():
    english = get_analyzer("english")
    assert english.query_terms("What is the role of IL-6 in the_cells?") == ["What", "role", "IL", "6", "cells"]
    assert fts5_terms(english.fts5_tokenizer, "The cells were responding") == ["the", "cell", "were", "respond"]
    assert get_analyzer("plain").query_terms("the cells") == ["the", "cells"]
    with pytest.raises(ValueError, match="Unknown BM25 analyzer 'german'; use one of english, plain"):
        get_analyzer("german")


@pytest.mark.parametrize("name", list(ANALYZERS))
def test_index_settings_define_every_analyzer_and_filter_the_mapping_names(name):
    analyzer = get_analyzer(name)
    analysis = analyzer.index_settings()["analysis"]
    mapping = analyzer.text_mapping()
    assert {mapping["analyzer"], mapping["search_analyzer"]} <= set(analysis["analyzer"])
    for definition in analysis["analyzer"].values():
        assert definition["tokenizer"] in analysis["tokenizer"]
        assert set(definition["filter"]) - {"lowercase", "porter_stem"} <= set(analysis.get("filter", {}))


@pytest.mark.integration
def test_the_index_built_by_index_analyzes_text_as_the_store_does(opensearch_url, index_name, tmp_path, capsys, caplog):
    """On a cluster without analysis-common (the 2.19.1 test node built from Maven jars) the index falls back to
    the standard analyzer, said in a warning; with it (every distribution, the 3.x test node), the terms agree."""
    source = tmp_path / "sentences.jsonl"
    source.write_text("".join(json.dumps({"id": str(n), "content": s}) + "\n" for n, s in enumerate(SENTENCES)))
    store_path = tmp_path / "store.sqlite"
    common = ["--model-version", "1.0.1"]
    assert main(["index", str(source), "--store", str(store_path), *common]) == 0
    assert main(["index", str(source), "--opensearch", opensearch_url, "--index", index_name, *common]) == 0
    capsys.readouterr()

    store = SQLiteDocumentStore(path=str(store_path))
    analyzer = store.store_analyzer
    assert analyzer.name == "english"
    connection = sqlite3.connect(store_path)
    connection.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, documents_fts, instance)")
    client = OpenSearch(hosts=opensearch_url)
    field = client.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]["content"]
    if not has_analysis_common(client, RetryPolicy()):
        assert field == {"type": "text"}
        assert "has no analysis-common module" in caplog.text
        return
    assert field == analyzer.text_mapping()
    for sentence in SENTENCES:
        (pk,) = connection.execute("SELECT pk FROM documents WHERE content = ?", (sentence,)).fetchone()
        stored = [row[0] for row in connection.execute("SELECT term FROM vocab WHERE doc = ? ORDER BY offset", (pk,))]
        indexed = client.indices.analyze(index=index_name, body={"field": "content", "text": sentence})
        assert [token["token"] for token in indexed["tokens"]] == stored, sentence
        # The query side: the store's query terms, each analyzed by FTS5, are the search analyzer's tokens.
        searched = client.indices.analyze(
            index=index_name, body={"analyzer": field["search_analyzer"], "text": sentence}
        )
        local = [term for word in analyzer.query_terms(sentence) for term in fts5_terms(analyzer.fts5_tokenizer, word)]
        assert [token["token"] for token in searched["tokens"]] == local, sentence
    connection.close()
    store.close()


def _explained(explanation: dict[str, Any], prefix: str) -> float:
    """The value of the first node of a Lucene score explanation whose description starts with ``prefix``."""
    pending = [explanation]
    while pending:
        node = pending.pop(0)
        if node["description"].startswith(prefix):
            return float(node["value"])
        pending.extend(node.get("details", []))
    raise AssertionError(f"no {prefix!r} in {explanation}")


@pytest.mark.integration
def test_the_title_counts_in_bm25_as_in_the_store(opensearch_url, index_name, tmp_path, capsys):
    """BEIR records with titles, indexed into a store and an index by ``index``: a title word finds the same
    passages in both, ranked alike, and the index's BM25 length of each (title copied into ``content``) is the
    store's (title and content columns). The words are ones every analyzer cuts alike (also the standard one of a
    cluster without analysis-common). Both hold the same passages, a long record's each headed by its title, so
    both embed the same texts."""
    provisions = " ".join(f"Ship {i} carried barrels of water and salted meat." for i in range(40))
    records = [
        {"_id": "s1", "title": "Scurvy in sailors", "text": "Vitamin C deficiency caused the disease on long voyages."},
        {"_id": "s2", "title": "Rickets", "text": "Vitamin D deficiency softens bones in children."},
        {"_id": "s3", "text": "Sailors ate citrus fruit to prevent scurvy."},
        {"_id": "s4", "title": "Provisions at sea", "text": provisions},
    ]
    source = tmp_path / "corpus.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in records))
    store_path = tmp_path / "store.sqlite"
    common = ["--model-version", "1.0.1"]
    assert main(["index", str(source), "--store", str(store_path), *common]) == 0
    assert main(["index", str(source), "--opensearch", opensearch_url, "--index", index_name, *common]) == 0
    capsys.readouterr()
    client = OpenSearch(hosts=opensearch_url)
    client.indices.refresh(index=index_name)
    mapping = client.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert mapping["title"] == {"type": "keyword", "copy_to": ["content"]}

    store = SQLiteDocumentStore(path=str(store_path))
    connection = sqlite3.connect(store_path)
    connection.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, documents_fts, instance)")
    for query in ("scurvy", "sailors", "rickets"):
        local = store.bm25_retrieval(query, top_k=5)
        match = {"match": {"content": query}}
        hits = client.search(index=index_name, body={"query": match, "size": 5})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == [document.id for document in local], query
        for document in local:
            (pk,) = connection.execute("SELECT pk FROM documents WHERE id = ?", (document.id,)).fetchone()
            (length,) = connection.execute("SELECT count(*) FROM vocab WHERE doc = ?", (pk,)).fetchone()
            explanation = client.explain(index=index_name, id=document.id, body={"query": match})["explanation"]
            assert _explained(explanation, "dl, length of field") == length, (query, document.meta)
    assert {d.meta.get("title") for d in store.bm25_retrieval("scurvy", top_k=5)} == {"Scurvy in sailors", None}
    stored = {document.id: document.content for document in store.filter_documents()}
    hits = client.search(index=index_name, body={"query": {"match_all": {}}, "size": 100})["hits"]["hits"]
    assert {hit["_id"]: hit["_source"]["content"] for hit in hits} == stored
    headed = [content for content in stored.values() if "barrels" in content]
    assert len(headed) > 2 and all(content.startswith("Provisions at sea ") for content in headed)
    connection.close()
    store.close()
