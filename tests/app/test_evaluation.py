import json
import math

import pytest

from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.app.evaluation import (
    BeirFormatError,
    corpus_documents,
    evaluate,
    load_beir,
    ndcg,
    recall,
)
from opensearch_pretrained_haystack.app.pipelines import Splitting
from opensearch_pretrained_haystack.catalog import get_model

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
FILLER = " ".join(f"Filler sentence {i} describes the weather in a small town." for i in range(30))


@pytest.fixture
def beir(tmp_path):
    """Two long documents whose answers sit past the 128-token limit, and a distractor."""
    corpus = [
        {"_id": "rice", "title": "Notes", "text": FILLER + " Risotto is made by stirring arborio rice with hot stock."},
        {"_id": "space", "title": "Notes", "text": FILLER + " The telescope photographs distant galaxies in infrared."},
        {"_id": "other", "title": "", "text": "Football is played with eleven players on each side."},
    ]
    queries = [
        {"_id": "q1", "text": "how to make risotto with arborio rice"},
        {"_id": "q2", "text": "infrared pictures of far away galaxies"},
        {"_id": "q3", "text": "not judged"},
    ]
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps(c) + "\n" for c in corpus))
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\trice\t1\nq2\tspace\t1\n")
    return tmp_path


def test_metrics_match_trec_eval_definitions():
    judgements = {"a": 2, "b": 1, "c": 0}
    assert ndcg(["a", "b"], judgements) == 1.0
    assert ndcg(["x", "a"], {"a": 1}) == pytest.approx(1 / math.log2(3))
    assert ndcg(["b", "a"], judgements) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert recall(["a", "x"], judgements) == 0.5
    assert recall(["a"], {"c": 0}) == 0.0


def test_beir_reading(beir):
    dataset = load_beir(beir)
    assert dataset.queries == {
        "q1": "how to make risotto with arborio rice",
        "q2": "infrared pictures of far away galaxies",
    }
    first = next(corpus_documents(dataset.corpus_path))
    assert first.id == "rice" and first.content.startswith("Notes Filler sentence 0")
    assert first.meta == {"title": "Notes"}  # BM25's title field; the last record has none
    assert [document.meta for document in corpus_documents(dataset.corpus_path)][-1] == {}
    with pytest.raises(FileNotFoundError, match=r"qrels/test\.tsv"):
        load_beir(beir / "qrels")


def test_splitting_finds_what_truncation_cannot(beir):
    split = evaluate(beir, MINILM, progress_bar=False)
    whole = evaluate(beir, MINILM, splitting=Splitting(split=False), progress_bar=False)
    assert split["ndcg@10"] == 1.0 and split["recall@100"] == 1.0 and split["queries"] == 2
    assert split["passages"] > 3 and whole["passages"] == 3
    assert whole["ndcg@10"] < split["ndcg@10"]


def test_cli_json_output(beir, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                "--dataset",
                str(beir),
                "--model-version",
                "1.0.1",
                "--json",
                "--store",
                str(tmp_path / "eval-store.sqlite"),
            ]
        )
        == 0
    )
    scores = json.loads(capsys.readouterr().out)
    assert scores["ndcg@10"] == 1.0 and scores["recall@100"] == 1.0


@pytest.mark.parametrize(
    ("row", "why"),
    [("q1\trice\thigh", "integer score"), ("q1\trice", "integer score")],
)
def test_a_bad_qrels_line_names_its_file_and_line(beir, row, why, capsys):
    path = beir / "qrels" / "test.tsv"
    path.write_text(f"query-id\tcorpus-id\tscore\nq2\tspace\t1\n{row}\n")
    with pytest.raises(BeirFormatError, match=f"{path}:3: .*{why}"):
        load_beir(beir)
    assert main(["evaluate", "--dataset", str(beir), "--model-version", "1.0.1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:3: ") and "Traceback" not in err


def test_a_bad_corpus_line_names_its_file_and_line(beir):
    path = beir / "corpus.jsonl"
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(BeirFormatError, match=f"{path}:4: not JSON"):
        list(corpus_documents(path))


def test_split_option_reads_the_named_qrels_file_and_test_is_the_default(beir, tmp_path, capsys):
    (beir / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq2\tspace\t1\n")
    assert load_beir(beir, split="train").qrels == {"q2": {"space": 1}}
    assert load_beir(beir).qrels.keys() == {"q1", "q2"}
    store = str(tmp_path / "eval-store.sqlite")
    argv = ["evaluate", "--dataset", str(beir), "--model-version", "1.0.1", "--json", "--store", store]
    assert main([*argv, "--split", "train"]) == 0
    assert json.loads(capsys.readouterr().out)["queries"] == 1
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["queries"] == 2
    with pytest.raises(FileNotFoundError, match=r"qrels/dev\.tsv .*its splits: test, train"):
        load_beir(beir, split="dev")


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_evaluate_searches_the_embedded_store_in_each_mode(beir, mode):
    scores = evaluate(beir, MINILM, mode=mode, progress_bar=False)
    assert scores["ndcg@10"] == 1.0 and scores["queries"] == 2
