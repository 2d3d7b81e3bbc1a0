"""`index --sparse-encoder`, `search --mode sparse|hybrid` and `evaluate --mode sparse` on the embedded store, and
`index --sparse-encoder --opensearch` (precomputed rank_features) on the node: the same hits and scores as the store.

The tiny sparse encoder has random weights: the numbers say nothing about retrieval quality, only that both paths
compute the same ones.
"""

from __future__ import annotations

import json

import pytest
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalOnnxTextEmbedder,
    LocalSparseTextEmbedder,
)
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.cli.main import main
from tests.app.cli.test_sparse_cli import documents, hits, write_jsonl
from tests.sparse_models import SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR

ENCODER, TOKENIZER = str(SPARSE_ENCODER_DIR), str(SPARSE_TOKENIZER_DIR)
MINILM = ["--model-version", "1.0.1"]  # the mirror's MiniLM


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A store of the test texts, whole documents, with MiniLM vectors and the tiny encoder's sparse embeddings."""
    folder = tmp_path_factory.mktemp("sparse-store")
    source = write_jsonl(folder / "docs.jsonl", documents())
    store = folder / "store.sqlite"
    assert main(["index", str(source), "--store", str(store), *MINILM, "--no-split", "--sparse-encoder", ENCODER]) == 0
    return source, store


def _query(text: str) -> SparseEmbedding:
    embedder = LocalSparseTextEmbedder(model=TOKENIZER, progress_bar=False)
    try:
        return embedder.run(text=text)["sparse_embedding"]
    finally:
        embedder.close()


def test_index_then_search_sparse_prints_the_stores_sparse_ranking(indexed, capsys):
    _, store_path = indexed
    store = SQLiteDocumentStore(path=str(store_path))
    stored = store.filter_documents()
    assert len(stored) == len(documents()) and all(d.sparse_embedding is not None for d in stored)
    assert all(d.embedding is not None for d in stored)  # the dense vectors too, for hybrid
    text = " ".join(documents()[3].content.split()[:5])
    found = hits(
        capsys, ["search", text, "--store", str(store_path), "--mode", "sparse", "--sparse-tokenizer", TOKENIZER]
    )
    expected = store.sparse_retrieval(_query(text), top_k=10)
    assert found == [(d.id, f"{d.score:.4f}") for d in expected]
    hybrid = hits(
        capsys, ["search", text, "--store", str(store_path), "--mode", "hybrid", "--sparse-tokenizer", TOKENIZER]
    )
    dense = LocalOnnxTextEmbedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False).run(text=text)["embedding"]
    fused = store.sparse_hybrid_retrieval(_query(text), query=text, query_embedding=dense, top_k=50)  # 5 per result
    assert hybrid == [(d.id, f"{d.score:.4f}") for d in fused[:10]]
    store.close()


def test_sparse_search_needs_a_query_model_for_a_custom_encoder_and_refuses_another_encoder(indexed, capsys):
    source, store_path = indexed
    for mode in ("sparse", "hybrid"):
        assert main(["search", "scurvy", "--store", str(store_path), "--mode", mode]) == 2
        assert "say which model encodes queries (--sparse-tokenizer" in capsys.readouterr().err
    refused = main(["index", str(source), "--store", str(store_path), "--no-split", "--sparse-encoder", TOKENIZER])
    assert refused != 0
    assert "holds sparse embeddings of test/tiny-sparse-encoder 1.0.0" in capsys.readouterr().err


def test_sparse_mode_on_a_store_without_sparse_embeddings_is_one_line(tmp_path, capsys):
    source = write_jsonl(tmp_path / "docs.jsonl", documents()[:3])
    store = tmp_path / "dense.sqlite"
    assert main(["index", str(source), "--store", str(store), *MINILM]) == 0
    capsys.readouterr()
    assert main(["search", "anything", "--store", str(store), "--mode", "sparse", "--sparse-tokenizer", TOKENIZER]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "holds no sparse embeddings: index with --sparse-encoder" in err
    assert len(err.splitlines()) == 1


def test_evaluate_mode_sparse_encodes_the_corpus_and_the_queries_here(tmp_path, capsys):
    docs = documents()[:12]
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps({"_id": d.id, "text": d.content}) + "\n" for d in docs))
    queries = [{"_id": f"q{i}", "text": " ".join(d.content.split()[:4])} for i, d in enumerate(docs[:4])]
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (tmp_path / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\t{d.id}\t1\n" for i, d in enumerate(docs[:4]))
    )
    argv = ["evaluate", "--dataset", str(tmp_path), *MINILM, "--mode", "sparse", "--sparse-encoder", ENCODER, "--json"]
    assert main([*argv, "--sparse-tokenizer", TOKENIZER]) == 0, capsys.readouterr().err
    with_tokenizer = json.loads(capsys.readouterr().out)
    assert main(argv) == 0  # the encoder encodes the queries too (a directory is taken as a bi-encoder)
    with_encoder = json.loads(capsys.readouterr().out)
    for scores in (with_tokenizer, with_encoder):
        assert scores["queries"] == 4 and scores["passages"] == 12
    # Each query is its document's first words: the bi-encoder maps it nearest that document (random weights or not).
    assert with_encoder["ndcg@10"] == 1.0


@pytest.mark.integration
def test_index_into_opensearch_with_a_local_encoder_ranks_as_the_store(indexed, opensearch_url, index_name, capsys):
    source, store_path = indexed
    where = ["--opensearch", opensearch_url, "--index", index_name]
    assert main(["index", str(source), *where, "--no-split", "--sparse-encoder", ENCODER, "--replicas", "0"]) == 0
    capsys.readouterr()
    for document in documents()[::9]:
        text = " ".join(document.content.split()[:6])
        in_cluster = hits(capsys, ["search", text, *where, "--sparse-tokenizer", ENCODER])  # the bi-encoder
        in_store = hits(
            capsys, ["search", text, "--store", str(store_path), "--mode", "sparse", "--sparse-tokenizer", ENCODER]
        )
        assert in_cluster == in_store and in_store
