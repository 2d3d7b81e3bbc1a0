"""Issue 11 §6: `index --sparse`, `search --sparse | --sparse-tokenizer` and `evaluate --sparse` on the real node.

The tiny sparse encoder has random weights, so each query is the strongest whole-word tokens the cluster gave one
document (`cluster_queries`): every query has hits, and the numbers say nothing about retrieval quality.
"""

import json
from pathlib import Path

import pytest
from haystack import Document, Pipeline
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.app.pipelines import query_inputs, query_pipeline
from opensearch_pretrained_haystack.indices.sparse import SparseEncoding
from tests.indices.test_sparse import cluster_queries, corpus
from tests.sparse_models import SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR, deployed_sparse_model


@pytest.fixture(scope="module")
def sparse_models(opensearch_url):
    """(encoder id, tokenizer id): both tiny models deployed through the package's uploader."""
    return deployed_sparse_model(opensearch_url, "encoder"), deployed_sparse_model(opensearch_url, "tokenizer")


@pytest.fixture
def sparse_index(opensearch_url, index_name):
    """A throw-away index name; the index (`index_name`) and the ingest pipeline `index` made are removed after."""
    yield index_name
    OpenSearch(hosts=opensearch_url).ingest.delete_pipeline(id=f"{index_name}-sparse", ignore=[404])


def documents() -> list[Document]:
    """The test texts with short ids, so the collapsed hits name the source documents."""
    return [Document(id=f"d{i}", content=doc.content) for i, doc in enumerate(corpus())]


def write_jsonl(path: Path, docs: list[Document]) -> Path:
    path.write_text("".join(json.dumps({"id": d.id, "content": d.content}) + "\n" for d in docs))
    return path


def hits(capsys, argv: list[str]) -> list[tuple[str, str]]:
    """(id, score) of each line `search` prints."""
    assert main(argv) == 0, capsys.readouterr().err
    return [(line.split("\t")[1], line.split("\t")[0]) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.integration
def test_index_encodes_in_the_cluster_and_both_query_modes_find_the_same_documents(
    opensearch_url, sparse_models, sparse_index, tmp_path, capsys
):
    encoder_id, tokenizer_id = sparse_models
    docs = documents()
    source = write_jsonl(tmp_path / "docs.jsonl", docs)
    where = ["--opensearch", opensearch_url, "--index", sparse_index]
    index = ["index", str(source), *where, "--sparse", encoder_id, "--sparse-model", str(SPARSE_ENCODER_DIR)]
    assert main([*index, "--window", "24", "--overlap", "4", "--replicas", "0"]) == 0
    summary = capsys.readouterr().out
    written = int(summary.split("passages written: ")[1].split(",")[0])
    assert summary.startswith(f"documents read: {len(docs)}, ") and written > len(docs)  # long texts were split
    assert summary.strip().endswith("skipped: 0, failed: 0, without content: 0")
    client = OpenSearch(hosts=opensearch_url)
    client.indices.refresh(index=sparse_index)
    assert client.count(index=sparse_index)["count"] == written
    assert client.indices.get_settings(index=sparse_index)[sparse_index]["settings"]["index"]["default_pipeline"]

    assert main([*index, "--window", "24", "--overlap", "4"]) == 0  # a re-run finds every passage stored
    assert f"passages written: 0, skipped: {written}," in capsys.readouterr().out

    local = ["--sparse-tokenizer", str(SPARSE_TOKENIZER_DIR)]
    for query in cluster_queries(opensearch_url, encoder_id, docs, count=6):
        by_cluster = hits(capsys, ["search", query, *where, "--sparse", tokenizer_id, "--top-k", "5"])
        by_tokens = hits(capsys, ["search", query, *where, *local, "--top-k", "5"])
        assert len(by_cluster) == 5, query  # hits: the cluster's ingest pipeline filled the sparse field
        assert by_tokens == by_cluster
        assert {doc_id for doc_id, _ in by_cluster} <= {d.id for d in docs}  # passages collapsed to their sources


@pytest.mark.integration
def test_evaluate_sparse_indexes_and_scores_a_beir_set(opensearch_url, sparse_models, sparse_index, tmp_path, capsys):
    encoder_id, _ = sparse_models
    docs = documents()[:40]
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": d.id, "text": d.content}) + "\n" for d in docs))
    queries = cluster_queries(opensearch_url, encoder_id, docs, count=8)
    (beir / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": q}) + "\n" for i, q in enumerate(queries))
    )
    (beir / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\t{docs[i].id}\t1\n" for i in range(len(queries)))
    )
    argv = ["evaluate", "--dataset", str(beir), "--opensearch", opensearch_url, "--index", sparse_index, "--json"]
    argv += ["--sparse", encoder_id, "--sparse-model", str(SPARSE_ENCODER_DIR)]
    assert main([*argv, "--sparse-tokenizer", str(SPARSE_TOKENIZER_DIR)]) == 0, capsys.readouterr().err
    local = json.loads(capsys.readouterr().out)
    assert local["queries"] == len(queries) and local["passages"] >= len(docs)
    assert 0 < local["ndcg@10"] <= 1 and 0 < local["recall@100"] <= 1
    assert main(argv) == 0, capsys.readouterr().err  # queries encoded in the cluster by the encoder (bi-encoder)
    by_cluster = json.loads(capsys.readouterr().out)
    assert by_cluster["queries"] == len(queries) and by_cluster["passages"] == local["passages"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("wrong", "reason"),
    [
        ("no-such-model", "Failed to find model"),
        ("dense", "is a TEXT_EMBEDDING model"),
        ("uncatalogued", "'test/tiny-sparse-encoder', not a catalog model"),  # and no --sparse-model for its tokenizer
    ],
)
def test_a_wrong_or_dense_model_id_is_one_line_and_nothing_is_written(
    opensearch_url, minilm_model_id, sparse_models, sparse_index, tmp_path, capsys, wrong, reason
):
    source = write_jsonl(tmp_path / "docs.jsonl", documents()[:3])
    model_id = {"dense": minilm_model_id, "uncatalogued": sparse_models[0]}.get(wrong, wrong)
    argv = ["index", str(source), "--opensearch", opensearch_url, "--index", sparse_index, "--sparse", model_id]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and model_id in err[0] and reason in err[0], err
    assert not OpenSearch(hosts=opensearch_url).indices.exists(index=sparse_index)


def test_sparse_options_need_a_cluster_and_a_model_id(tmp_path, capsys):
    source = write_jsonl(tmp_path / "docs.jsonl", [Document(content="x")])
    assert main(["index", str(source), "--store", str(tmp_path / "s.json"), "--sparse", "m1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --sparse is a neural sparse index in an OpenSearch cluster: give --opensearch URL --index NAME (the "
        "store holds sparse embeddings made here: --sparse-encoder ALIAS|DIR)."
    )
    assert (
        main(["index", str(source), "--opensearch", "http://127.0.0.1:9", "--index", "i", "--sparse-model", "a"]) == 2
    )
    assert "give --sparse MODEL_ID with it" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_sparse_query_pipeline_encodes_here_or_in_the_cluster_and_round_trips_through_yaml():
    store = OpenSearchDocumentStore(hosts="http://localhost:9200", index="sparse")  # lazy: nothing is contacted
    local = query_pipeline(store, top_k=3, sparse=SparseEncoding(query_tokenizer=str(SPARSE_TOKENIZER_DIR)))
    # the text goes to every socket that takes it; the retriever reads `query` only when the cluster encodes
    assert query_inputs(local, "q") == {"embedder": {"text": "q"}, "retriever": {"query": "q"}}
    assert ("embedder", "retriever") in local.graph.edges() and local.get_component("retriever").top_k == 15
    cluster = query_pipeline(store, top_k=3, sparse=SparseEncoding(model_id="m1"))
    assert query_inputs(cluster, "q") == {"retriever": {"query": "q"}}
    assert cluster.get_component("retriever").model_id == "m1"
    for pipeline in (local, cluster):
        assert Pipeline.loads(pipeline.dumps()).to_dict() == pipeline.to_dict()
    with pytest.raises(ValueError, match="--sparse MODEL_ID"):
        query_pipeline(store, sparse=SparseEncoding(passage_model="x"))


@pytest.mark.integration
def test_search_with_a_bad_sparse_model_id_is_one_line(opensearch_url, sparse_models, sparse_index, tmp_path, capsys):
    source = write_jsonl(tmp_path / "docs.jsonl", documents()[:3])
    where = ["--opensearch", opensearch_url, "--index", sparse_index]
    index = ["index", str(source), *where, "--sparse", sparse_models[0], "--sparse-model", str(SPARSE_ENCODER_DIR)]
    assert main([*index, "--replicas", "0"]) == 0
    capsys.readouterr()
    assert main(["search", "rice", *where, "--sparse", "BADID"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "BADID" in err[0], err
