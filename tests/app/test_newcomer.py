"""A newcomer's first hour (issue 17, items 3-6): one clear line for each mistake, nothing silent, a clean Ctrl-C,
readable results and BEIR corpora."""

import json
import logging

import pytest
from haystack import Document

from haystack_integrations.components.embedders.opensearch_pretrained import LocalSparseTextEmbedder
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.batch import Target, index_sources, job, open_sink
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.app.pipelines import IndexingComponents, indexing_components
from opensearch_pretrained_haystack.artifacts.fetch import fetch_artifact
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.errors import ArtifactDownloadError
from tests.conftest import MIRROR, TESTING

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
V = ["--model-version", "1.0.1"]


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "risotto.md").write_text("A good risotto needs arborio rice and hot stock added one ladle at a time.")
    (folder / "webb.txt").write_text("The James Webb telescope observes the early universe in infrared light.")
    (folder / "paper.pdf").write_bytes(b"%PDF-1.7 binary")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    return folder


@pytest.fixture
def store(tmp_path, corpus):
    path = tmp_path / "s.sqlite"
    assert main(["index", str(corpus), "--store", str(path), *V]) == 0
    return path


def one_error_line(capsys):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --- item 3: one clear line naming the user's input -----------------------------------------------------------


def test_a_directory_or_an_unwritable_path_as_store_is_one_line_naming_it(tmp_path, corpus, capsys):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert main(["index", str(corpus), "--store", str(folder), *V]) == 1
    assert f"Store path {str(folder)!r} is a directory" in one_error_line(capsys)
    assert main(["search", "rice", "--store", str(folder), *V]) == 1
    assert "is a directory" in one_error_line(capsys)
    unwritable = "/proc/no-store-here.sqlite"  # /proc refuses new files, even to root
    assert main(["index", str(corpus), "--store", unwritable, *V]) == 1
    assert f"Cannot open or create the store file {unwritable!r}" in one_error_line(capsys)


def test_a_version_the_mirror_lacks_names_the_versions_it_holds(tmp_path):
    # A cache of its own: the session's cache may hold a 1.0.2 another test published in a mirror of its own.
    with pytest.raises(ArtifactDownloadError) as error:
        fetch_artifact("all-MiniLM-L6-v2", "1.0.2", mirror=str(MIRROR), cache_dir=tmp_path)
    message = str(error.value)
    assert "\n" not in message and "1.0.2" in message and "holds version(s) 1.0.1" in message
    with pytest.raises(ArtifactDownloadError, match="holds no version of it"):
        fetch_artifact("all-MiniLM-L12-v2", "1.0.1", mirror=str(MIRROR), cache_dir=tmp_path)


def test_an_empty_query_is_refused(store, capsys):
    capsys.readouterr()
    assert main(["search", "  ", "--store", str(store)]) == 2
    assert "The query '  ' is empty" in one_error_line(capsys)


def test_a_query_longer_than_the_model_reads_is_noted(store, capsys, caplog):
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        assert main(["search", " ".join(["rice"] * 400), "--store", str(store)]) == 0
    notes = [r.getMessage() for r in caplog.records if "tokens long" in r.getMessage()]
    assert len(notes) == 1 and "402 tokens long" in notes[0] and "first 128" in notes[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["search", "rice", "--store", str(store)]) == 0
    assert not [r for r in caplog.records if "tokens long" in r.getMessage()]


@pytest.mark.parametrize("mode", [[], ["--mode", "hybrid", "--fusion", "rrf"], ["--mode", "dense"]])
def test_a_bm25_weight_the_search_would_ignore_is_refused(store, capsys, mode):
    capsys.readouterr()
    assert main(["search", "rice", "--store", str(store), *mode, "--bm25-weight", "0.3"]) == 2
    assert "--bm25-weight 0.3 weighs --mode hybrid --fusion min_max" in one_error_line(capsys)
    argv = ["search", "rice", "--store", str(store), "--mode", "hybrid", "--fusion", "min_max", "--bm25-weight", "0.3"]
    assert main(argv) == 0
    assert main(argv[:6] + argv[-2:]) == 0  # the default fusion, min_max, weighs


def test_files_that_are_not_read_are_counted_and_named_in_the_summary(tmp_path, corpus, capsys):
    assert main(["index", str(corpus), "--store", str(tmp_path / "s.sqlite"), *V]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("documents read: 2, passages written: 2,")
    assert line.endswith(
        f"; files not read (not .txt, .md or .jsonl): 2 ({corpus / 'image.png'}, {corpus / 'paper.pdf'})"
    )


def test_an_empty_file_is_named_alike_by_every_step(tmp_path, caplog):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_text("")
    with caplog.at_level(logging.WARNING):
        summary = index_sources([folder], Target(store_path=tmp_path / "s.sqlite"), MINILM, progress_bar=False)
    assert summary.without_content == 1
    named = [r.getMessage() for r in caplog.records if "no content" in r.getMessage()]
    assert named and all(message.endswith(": empty.txt") for message in named)


def test_passages_another_run_wrote_meanwhile_are_not_reported_as_written(tmp_path, corpus):
    target = Target(store_path=tmp_path / "s.sqlite")
    first = index_sources([corpus], target, MINILM, progress_bar=False)

    class BlindSink:  # the second of two concurrent runs: it looked before the first one wrote
        def __init__(self, sink):
            self.sink = sink

        def stored_ids(self, ids):
            return set()

        def write(self, documents):
            return self.sink.write(documents)

    components = indexing_components(model=MINILM.name, version=MINILM.version)
    documents = job.read_documents([corpus], job.IndexSummary())
    with open_sink(target, MINILM) as sink:
        second = job.index_documents(documents, BlindSink(sink), components=components, progress_bar=False)
    assert (first.passages_written, second.passages_written, second.skipped) == (2, 0, 2)


def test_a_lone_surrogate_given_to_the_sparse_text_embedder_is_one_line():
    embedder = LocalSparseTextEmbedder(str(TESTING / "tiny-sparse-tokenizer"))
    with pytest.raises(ValueError, match=r"lone surrogate \\ud800 at character 4") as error:
        embedder.run(text="rice\ud800")
    assert "\n" not in str(error.value)


# --- item 4: Ctrl-C and progress --------------------------------------------------------------------------------


def test_ctrl_c_keeps_what_was_written_prints_the_summary_exits_130_and_a_rerun_resumes(tmp_path, capsys, monkeypatch):
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps({"content": f"Passage {i} about rivers."}) + "\n" for i in range(100)))
    store = tmp_path / "s.sqlite"
    embed = IndexingComponents.embed
    calls = []

    def interrupted_on_the_third_group(self, passages):
        calls.append(len(passages))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return embed(self, passages)

    monkeypatch.setattr(IndexingComponents, "embed", interrupted_on_the_third_group)
    assert main(["index", str(source), "--store", str(store), *V]) == 130
    captured = capsys.readouterr()
    written = calls[0] + calls[1]
    assert captured.out.startswith(f"documents read: 100, passages written: {written},")
    assert "interrupted: the passages written so far are kept" in captured.err and "Traceback" not in captured.err
    assert SQLiteDocumentStore(path=str(store)).count_documents() == written
    monkeypatch.setattr(IndexingComponents, "embed", embed)
    assert main(["index", str(source), "--store", str(store)]) == 0
    assert capsys.readouterr().out.startswith(f"documents read: 100, passages written: {100 - written}, skipped: ")
    assert SQLiteDocumentStore(path=str(store)).count_documents() == 100


def test_the_first_passages_are_written_in_a_small_group_so_progress_moves_at_once(tmp_path):
    class Recorder:
        def __init__(self):
            self.sizes = []

        def stored_ids(self, ids):
            return set()

        def write(self, documents):
            self.sizes.append(len(documents))
            return len(documents)

    class NoEmbedding:
        embedder = None  # nothing to embed: the job expects no vectors

        def embed(self, passages):
            return passages

        def passages(self, documents):
            return documents

        def stream_passages(self, documents):
            return iter(documents)

    documents = [Document(content=f"text {i}") for i in range(5000)]
    recorder = Recorder()
    job.index_documents(documents, recorder, components=NoEmbedding(), progress_bar=False)
    assert recorder.sizes[0] == job.FIRST_GROUP <= 64
    assert recorder.sizes[:4] == [32, 64, 128, 256] and max(recorder.sizes) == job.PASSAGE_GROUP
    assert sum(recorder.sizes) == 5000


# --- item 5: where each hit came from --------------------------------------------------------------------------


def test_search_shows_where_each_hit_came_from_and_says_when_nothing_matched(store, tmp_path, capsys):
    capsys.readouterr()
    assert main(["search", "arborio rice risotto", "--store", str(store), "--top-k", "1"]) == 0
    _, _, rest = capsys.readouterr().out.strip().split("\t")
    assert rest.startswith("risotto.md, passage 1, char 0: A good risotto")
    assert main(["search", "zzzqqq", "--store", str(store), "--mode", "bm25"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "no results for 'zzzqqq'\n"


# --- item 6: BEIR corpora ---------------------------------------------------------------------------------------


def test_index_reads_a_beir_corpus_as_evaluate_does(tmp_path, capsys):
    from opensearch_pretrained_haystack.app.evaluation import corpus_documents

    corpus = tmp_path / "corpus.jsonl"
    records = [
        {"_id": "d1", "title": "Rice", "text": "Arborio rice makes risotto.", "metadata": {}},
        {"_id": 2, "title": "", "text": "Webb sees infrared light."},
    ]
    corpus.write_text("".join(json.dumps(record) + "\n" for record in records))
    store = tmp_path / "s.sqlite"
    assert main(["index", str(corpus), "--store", str(store), *V]) == 0
    assert capsys.readouterr().out.startswith("documents read: 2, passages written: 2, skipped: 0, failed: 0")
    stored = SQLiteDocumentStore(path=str(store)).filter_documents()
    assert sorted((d.meta["source_id"], d.content) for d in stored) == [
        ("2", "Webb sees infrared light."),
        ("d1", "Rice Arborio rice makes risotto."),
    ]
    assert [(d.id, d.content) for d in corpus_documents(corpus)] == [
        ("d1", "Rice Arborio rice makes risotto."),
        ("2", "Webb sees infrared light."),
    ]
