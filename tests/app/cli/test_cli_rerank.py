"""`search --rerank MODEL | --remote-rerank ID [--rerank-top-k N]` and `evaluate --rerank`, end to end."""

import json

import pytest
from haystack import Document

from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker
from opensearch_pretrained_haystack.app.batch import Target, index_into
from opensearch_pretrained_haystack.app.batch.query import Rerank, search
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.app.evaluation import evaluate
from opensearch_pretrained_haystack.catalog import get_model
from tests.conftest import TESTING

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
TINY = str(TESTING / "tiny-cross-encoder" / "onnx")
QUERY = "how do I cook rice?"
TEXTS = [
    "Risotto needs arborio rice and stock added slowly.",
    "The James Webb telescope observes the early universe in infrared light.",
    "OpenSearch is a distributed search and analytics engine.",
    "Carbonara is pasta with eggs, cheese and guanciale.",
    "Tomatoes grow best in full sun with regular watering.",
    "A man is playing a guitar.",
]


def documents() -> list[Document]:
    return [Document(id=f"d{n}", content=text) for n, text in enumerate(TEXTS)]


@pytest.fixture
def store(tmp_path):
    target = Target(store_path=tmp_path / "store.json")
    index_into(target, MINILM, documents(), progress_bar=False)
    return target


def printed(out: str) -> list[tuple[float, str]]:
    return [(float(line.split("\t")[0]), line.split("\t")[1]) for line in out.strip().splitlines()]


def test_search_reranks_the_retrieved_passages_with_the_local_cross_encoder(store):
    plain = search(QUERY, store, MINILM, top_k=3)
    reranked = search(QUERY, store, MINILM, top_k=3, rerank=Rerank(model=TINY, top_k=4))
    candidates = search(QUERY, store, MINILM, top_k=4)  # whole documents: the 4 passages the ranker got
    local = LocalOnnxRanker(model=TINY, top_k=4, progress_bar=False).run(query=QUERY, documents=candidates)
    expected = local["documents"][:3]
    assert [d.id for d in reranked] == [d.id for d in expected]
    assert max(abs(a.score - b.score) for a, b in zip(reranked, expected, strict=True)) <= 1e-5
    assert [d.score for d in reranked] != [d.score for d in plain]


def test_cli_search_and_evaluate_take_the_rerank_arguments(store, tmp_path, capsys):
    argv = ["search", QUERY, "--store", str(store.store_path), "--top-k", "3"]
    assert main([*argv, "--rerank", TINY, "--rerank-top-k", "4"]) == 0
    expected = search(QUERY, store, MINILM, top_k=3, rerank=Rerank(model=TINY, top_k=4))
    assert printed(capsys.readouterr().out) == [(round(d.score, 4), d.id) for d in expected]
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d.id, "text": d.content}) + "\n" for d in documents())
    )
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": QUERY}) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td0\t1\n")
    evaluate_argv = ["evaluate", "--dataset", str(beir), "--model-version", "1.0.1", "--json"]
    assert main([*evaluate_argv, "--rerank", TINY, "--rerank-top-k", "3"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores == evaluate(beir, MINILM, rerank=Rerank(model=TINY, top_k=3), progress_bar=False)
    assert scores["queries"] == 1 and 0 <= scores["ndcg@10"] <= 1 and scores["passages"] == len(TEXTS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rerank-top-k", "5"], "give --rerank MODEL or --remote-rerank"),
        (["--remote-rerank", "abc"], "give --opensearch URL"),
        (["--rerank", TINY, "--rerank-top-k", "0"], "--rerank-top-k must be 1 or more"),
    ],
)
def test_rerank_argument_errors_are_one_line(store, extra, message, capsys):
    assert main(["search", QUERY, "--store", str(store.store_path), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_local_and_cluster_reranking_are_one_choice(store, capsys):
    with pytest.raises(SystemExit):
        main(["search", QUERY, "--store", str(store.store_path), "--rerank", TINY, "--remote-rerank", "abc"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.integration
def test_cli_search_reranks_in_the_cluster_like_locally(opensearch_url, index_name, capsys):
    from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
        PretrainedModelUploader,
    )

    target = Target(hosts=opensearch_url, index=index_name, replicas=0)
    index_into(target, MINILM, documents(), progress_bar=False)
    model_id = PretrainedModelUploader(opensearch_url, TINY, source="client").run()["model_id"]
    argv = [
        "search",
        QUERY,
        "--opensearch",
        opensearch_url,
        "--index",
        index_name,
        "--top-k",
        "3",
        "--model-version",
        "1.0.1",
    ]
    assert main([*argv, "--remote-rerank", model_id]) == 0
    cluster = printed(capsys.readouterr().out)
    assert main([*argv, "--rerank", TINY]) == 0
    local = printed(capsys.readouterr().out)
    assert [i for _, i in cluster] == [i for _, i in local] and len(local) == 3
    assert max(abs(a - b) for (a, _), (b, _) in zip(cluster, local, strict=True)) <= 1e-4  # printed to 4 places


@pytest.mark.integration
def test_a_bad_remote_rerank_model_id_is_one_line(opensearch_url, index_name, capsys):
    index_into(Target(hosts=opensearch_url, index=index_name, replicas=0), MINILM, documents(), progress_bar=False)
    argv = ["search", QUERY, "--opensearch", opensearch_url, "--index", index_name, "--model-version", "1.0.1"]
    assert main([*argv, "--remote-rerank", "BADID"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "BADID" in err[0], err
