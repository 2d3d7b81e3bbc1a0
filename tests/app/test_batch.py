import gzip
import json
import re
from dataclasses import replace

import pytest
from haystack import Document
from haystack.components.converters import TextFileToDocument
from haystack.components.preprocessors import DocumentCleaner
from haystack.document_stores.in_memory import InMemoryDocumentStore
from opensearchpy import OpenSearch

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app import batch
from opensearch_pretrained_haystack.app.batch import (
    IndexSummary,
    Target,
    count_documents,
    index_sources,
    job,
    jsonl_document,
    open_sink,
    read_documents,
)
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.app.pipelines import IndexingComponents, document_embedder, indexing_pipeline
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.indices.knn import IndexMismatchError, document_store_for

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
LONG = " ".join(f"Sentence {i} is about the history of topic {i}." for i in range(80))


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "notes.md").write_text("# Notes\n\nOpenSearch runs k-NN search on vectors.")
    (folder / "skip.pdf").write_bytes(b"%PDF")
    lines = [
        json.dumps({"content": f"Document {i} about gardening and tomatoes.", "meta": {"i": i}}) for i in range(20)
    ]
    lines += ["", json.dumps({"id": "long", "content": LONG}), json.dumps({"content": "   "})]
    (folder / "docs.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_jsonl_records():
    document = jsonl_document('{"id": "x1", "content": "hello", "meta": {"a": 1}}')
    assert (document.id, document.content, document.meta) == ("x1", "hello", {"a": 1})
    assert jsonl_document('{"content": "hello"}').id == jsonl_document('{"content": "hello"}').id
    for bad in ('{"text": "no content"}', "[1]", '{"content": "x", "meta": 3}'):
        with pytest.raises(ValueError):
            jsonl_document(bad)


def test_reading_counts_bad_lines_as_failed(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"content": "fine"}\nnot json\n{"content": 3}\n')
    summary = IndexSummary()
    assert [d.content for d in read_documents([tmp_path], summary)] == ["fine"]
    assert summary.failed == 2 and "a.jsonl:2" in summary.failures[0]
    assert count_documents([tmp_path]) == 3
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(ValueError, match="not a directory"):
        list(read_documents([tmp_path / "x.pdf"], summary))


def test_the_index_command_reads_its_input_once_and_its_progress_reaches_the_input_bytes(tmp_path, corpus, monkeypatch):
    opened: list[str] = []
    real_open = open

    def counting_open(file, *args, **kwargs):
        if str(file).endswith("docs.jsonl"):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    totals: list[tuple[int, int]] = []
    real_index_documents = job.index_documents

    def recording(documents, sink, **kwargs):
        summary = real_index_documents(documents, sink, **kwargs)
        totals.append((kwargs["total"], kwargs["bytes_read"].count))
        return summary

    monkeypatch.setattr("builtins.open", counting_open)
    monkeypatch.setattr(job, "index_documents", recording)
    summary = index_sources([corpus], Target(store_path=tmp_path / "store.sqlite"), MINILM, progress_bar=False)
    assert summary.documents_read == 23 and len(opened) == 2  # the gzip check peeks at 2 bytes, then one read
    input_size = sum(p.stat().st_size for p in corpus.iterdir() if p.suffix in (".md", ".jsonl"))
    assert totals == [(input_size, input_size)]


def test_index_then_rerun_skips_everything(tmp_path, corpus):
    target = Target(store_path=tmp_path / "store.sqlite")
    first = index_sources([corpus], target, MINILM, progress_bar=False)
    assert (first.documents_read, first.failed) == (23, 0)
    assert (first.skipped, first.without_content) == (0, 1)  # the blank document: stored, without a vector
    assert first.passages_written > 23  # the long document was split
    second = index_sources([corpus], target, MINILM, progress_bar=False)
    assert (second.passages_written, second.skipped) == (0, first.passages_written)
    store = SQLiteDocumentStore(path=str(target.store_path))
    assert store.count_documents() == first.passages_written
    long_passages = [d for d in store.filter_documents() if d.meta["source_id"] == "long"]
    assert len(long_passages) > 1 and all(len(d.embedding) == 384 for d in long_passages)


def test_an_interrupted_run_resumes_without_loss(tmp_path, corpus, monkeypatch):
    reference = index_sources([corpus], Target(store_path=tmp_path / "full.sqlite"), MINILM, progress_bar=False)
    target = Target(store_path=tmp_path / "store.sqlite")
    original = job._embed_and_write
    calls = []

    def interrupted(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        original(*args, **kwargs)

    monkeypatch.setattr(job, "_embed_and_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        index_sources([corpus], target, MINILM, group_size=8, progress_bar=False)
    monkeypatch.setattr(job, "_embed_and_write", original)
    partial = SQLiteDocumentStore(path=str(target.store_path)).count_documents()
    assert 0 < partial < reference.passages_written
    resumed = index_sources([corpus], target, MINILM, progress_bar=False)
    assert resumed.passages_written == reference.passages_written - partial
    assert SQLiteDocumentStore(path=str(target.store_path)).count_documents() == reference.passages_written


def test_cli_index_and_search(tmp_path, corpus, capsys):
    store = str(tmp_path / "store.sqlite")
    assert main(["index", str(corpus), "--store", store, "--model-version", "1.0.1"]) == 0
    assert capsys.readouterr().out.startswith("documents read: 23, passages written: ")
    assert main(["search", "vector search engine", "--store", store, "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    score, _, snippet = lines[0].split("\t")
    assert float(score) > 0 and "OpenSearch runs k-NN" in snippet


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["index", "x.txt", "--remote", "abc"], "--opensearch URL --index NAME"),
        (["index", "x.txt", "--opensearch", "http://localhost:9200"], "index name"),
        (["index", "x.txt", "--index", "docs"], "give --opensearch URL"),
        (["index", "x.txt", "--no-split", "--window", "50"], "window=50 (--window 50) cuts passages, but split=False"),
        (["index", "x.txt", "--no-split", "--overlap", "8"], "overlap=8 (--overlap 8) cuts passages"),
        (["index", "x.txt", "--no-split", "--no-title-header"], "title_header=False (--no-title-header) cuts passages"),
    ],
)
def test_cli_argument_errors(tmp_path, argv, message, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("hello")
    assert main([*argv, "--model-version", "1.0.1"]) == 2
    assert message in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["x.txt"]  # nothing written


def test_index_heads_every_passage_with_the_title_unless_told_not_to(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    body = " ".join(f"Sentence {i} says something about cells and membranes." for i in range(60))
    record = {"id": "d1", "content": body, "meta": {"title": "Cell biology"}}
    (tmp_path / "docs.jsonl").write_text(json.dumps(record) + "\n")
    passages = {}
    for store, flags in (("headed.sqlite", []), ("plain.sqlite", ["--no-title-header"])):
        assert main(["index", "docs.jsonl", "--store", store, "--model-version", "1.0.1", *flags]) == 0
        documents = SQLiteDocumentStore(path=store).filter_documents()
        passages[store] = [d.content for d in sorted(documents, key=lambda d: d.meta["split_id"])]
    assert len(passages["headed.sqlite"]) >= len(passages["plain.sqlite"]) > 1
    assert all(
        text.startswith("Cell biology ") and text.removeprefix("Cell biology ") in body
        for text in passages["headed.sqlite"]
    )
    assert not any(text.startswith("Cell biology") for text in passages["plain.sqlite"])
    assert all(text in body for text in passages["plain.sqlite"])


@pytest.mark.integration
def test_index_into_opensearch_then_rerun_and_search(opensearch_url, index_name, corpus):
    target = Target(hosts=opensearch_url, index=index_name)
    first = index_sources([corpus], target, MINILM, progress_bar=False)
    second = index_sources([corpus], target, MINILM, progress_bar=False)
    assert first.passages_written > 22 and second.passages_written == 0
    client = OpenSearch(hosts=opensearch_url)
    client.indices.refresh(index=index_name)
    assert client.count(index=index_name)["count"] == first.passages_written
    top = batch.search("tomatoes in the garden", target, MINILM, top_k=3)
    assert len(top) == 3 and "gardening" in top[0].content


@pytest.mark.integration
def test_index_command_refuses_an_index_of_another_model(opensearch_url, index_name, corpus, capsys):
    document_store_for(get_model("msmarco-distilbert-base-tas-b"), opensearch_url, index_name, number_of_replicas=0)
    with pytest.raises(IndexMismatchError):
        index_sources([corpus], Target(hosts=opensearch_url, index=index_name), MINILM, progress_bar=False)
    assert (
        main(["index", str(corpus), "--opensearch", opensearch_url, "--index", index_name, "--model-version", "1.0.1"])
        == 2
    )
    assert "768-dimensional" in capsys.readouterr().err
    assert OpenSearch(hosts=opensearch_url).count(index=index_name)["count"] == 0


@pytest.mark.integration
def test_index_command_with_the_remote_embedder(opensearch_url, index_name, corpus, tmp_path):
    from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
        PretrainedModelUploader,
    )
    from tests.conftest import MIRROR

    model_id = PretrainedModelUploader(
        opensearch_url, "all-MiniLM-L6-v2", "1.0.1", source="client", mirror=str(MIRROR)
    ).run()["model_id"]
    assert (
        main(
            [
                "index",
                str(corpus),
                "--opensearch",
                opensearch_url,
                "--index",
                index_name,
                "--model-version",
                "1.0.1",
                "--remote",
                model_id,
            ]
        )
        == 0
    )
    local = Target(store_path=tmp_path / "local.sqlite")
    index_sources([corpus], local, MINILM, progress_bar=False)
    remote_store = document_store_for(MINILM, opensearch_url, index_name, return_embedding=True)
    remote = {d.id: d.embedding for d in remote_store.filter_documents()}
    expected = {d.id: d.embedding for d in SQLiteDocumentStore(path=str(local.store_path)).filter_documents()}
    assert remote.keys() == expected.keys()
    blank = [i for i in expected if expected[i] is None]
    assert len(blank) == 1 and remote[blank[0]] is None  # the document without content, stored in both
    worst = max(
        max(abs(a - b) for a, b in zip(remote[i], expected[i], strict=True)) for i in expected if i not in blank
    )
    assert worst < 1e-4


@pytest.mark.integration
def test_index_refuses_a_cluster_model_whose_vectors_do_not_fit_before_writing(
    opensearch_url, index_name, minilm_model_id, corpus, capsys
):
    args = ["index", str(corpus), "--opensearch", opensearch_url, "--index", index_name, "--remote", minilm_model_id]
    assert main([*args, "--model", "msmarco-distilbert-base-tas-b"]) == 2
    err = capsys.readouterr().err
    assert "384-dimensional" in err and "768-dimensional" in err
    assert not OpenSearch(hosts=opensearch_url).indices.exists(index=index_name)


@pytest.mark.integration
def test_index_with_an_unknown_cluster_model_is_one_error_line_naming_the_uploader(
    opensearch_url, index_name, corpus, capsys
):
    args = ["index", str(corpus), "--opensearch", opensearch_url, "--index", index_name, "--remote", "no-such-model"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "PretrainedModelUploader" in err and "Traceback" not in err
    assert not OpenSearch(hosts=opensearch_url).indices.exists(index=index_name)


@pytest.mark.integration
def test_search_on_a_missing_index_says_how_to_fill_it_and_creates_nothing(opensearch_url, index_name, capsys):
    args = ["search", "anything", "--opensearch", opensearch_url, "--index", index_name, "--model-version", "1.0.1"]
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not OpenSearch(hosts=opensearch_url).indices.exists(index=index_name)


def test_progress_counts_documents_once_their_passages_are_written():
    class Bar:
        n = 0

        def update(self, count):
            self.n += count

    bar = Bar()
    progress = job._WrittenProgress(bar)
    progress.read(documents=3, passages=5)
    progress.read(documents=2, passages=0)
    progress.read(documents=4, passages=4)
    progress.written(4)
    assert bar.n == 0
    progress.written(1)
    assert bar.n == 5  # the first chunk is written, and the empty one after it
    progress.written(4)
    assert bar.n == 9


def test_lone_surrogates_and_non_utf8_lines_are_reported_and_the_rest_indexed(tmp_path):
    good = [json.dumps({"content": f"Good line {i} about rivers."}) for i in range(300)]
    lines = [line.encode() for line in good]
    lines.insert(100, b'{"content": "broken \\ud800 text"}')  # valid JSON, not text
    lines.insert(200, b'{"content": "caf\xe9"}')  # Latin-1, not UTF-8
    lines.insert(250, b'{"content": "ok", "meta": {"\\udfff": 1}}')
    (tmp_path / "docs.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "packed.jsonl").write_bytes(gzip.compress(b'{"content": "x"}\n'))
    target = Target(store_path=tmp_path / "store.sqlite")
    summary = index_sources([tmp_path / "docs.jsonl", tmp_path / "packed.jsonl"], target, MINILM, progress_bar=False)
    assert (summary.passages_written, summary.failed) == (300, 4)
    path = tmp_path / "docs.jsonl"
    assert summary.failures[:3] == [
        f'{path}:101: "content" holds a lone surrogate \\ud800, which is not text',
        f"{path}:201: not UTF-8 text (invalid continuation byte at byte 16)",
        f'{path}:251: "meta" holds a lone surrogate \\udfff, which is not text',
    ]
    assert (
        summary.failures[3] == f"{tmp_path / 'packed.jsonl'}: is gzip-compressed, not JSONL text: decompress it first"
    )


def test_jsonl_ids_are_kept_as_given_and_other_types_refused():
    assert jsonl_document('{"id": 0, "content": "a"}').id == "0"
    assert jsonl_document('{"id": 17, "content": "a"}').id == "17"
    assert jsonl_document('{"id": "doc-1", "content": "a"}').id == "doc-1"
    assert jsonl_document('{"id": null, "content": "a"}').id == jsonl_document('{"content": "a"}').id
    for bad, why in [
        ('{"id": false, "content": "a"}', '"id" must be a string or an integer, not false'),
        ('{"id": {"a": 1}, "content": "a"}', '"id" must be a string or an integer, not {"a": 1}'),
        ('{"id": 1.5, "content": "a"}', '"id" must be a string or an integer, not 1.5'),
        ('{"id": "", "content": "a"}', '"id" must not be empty'),
    ]:
        with pytest.raises(ValueError, match=re.escape(why)):
            jsonl_document(bad)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_meta_are_refused(number):
    with pytest.raises(ValueError, match=re.escape(number)):
        jsonl_document(f'{{"content": "a", "meta": {{"score": {number}}}}}')


def test_a_missing_or_non_utf8_text_file_is_named_with_the_reason(tmp_path):
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9")
    (tmp_path / "fine.txt").write_text("fine")
    summary = IndexSummary()
    sources = [tmp_path / "missing.txt", tmp_path / "latin.txt", tmp_path / "no-such-dir", tmp_path / "fine.txt"]
    assert [d.content for d in read_documents(sources, summary)] == ["fine"]
    assert summary.failures == [
        f"{tmp_path / 'missing.txt'}: does not exist",
        f"{tmp_path / 'latin.txt'}: not UTF-8 text (unexpected end of data at byte 3)",
        f"{tmp_path / 'no-such-dir'}: does not exist",
    ]


def test_text_documents_keep_the_ids_haystacks_converter_gives(tmp_path):
    (tmp_path / "a.md").write_text("\ufeff# Title\n\nBody text.")
    ours = next(read_documents([tmp_path / "a.md"], IndexSummary()))
    theirs = TextFileToDocument().run(sources=[tmp_path / "a.md"])["documents"][0]
    assert (ours.id, ours.content, ours.meta) == (theirs.id, theirs.content, theirs.meta)


def test_cli_index_reports_bad_lines_keeps_the_rest_and_exits_non_zero(tmp_path, capsys):
    (tmp_path / "docs.jsonl").write_text('{"content": "fine"}\n{"id": {"a": 1}, "content": "x"}\n')
    store = str(tmp_path / "store.sqlite")
    assert main(["index", str(tmp_path / "docs.jsonl"), "--store", store, "--model-version", "1.0.1"]) == 1
    captured = capsys.readouterr()
    assert "passages written: 1, skipped: 0, failed: 1" in captured.out and "Traceback" not in captured.err


def test_cli_top_k_is_checked_and_names_the_users_value(tmp_path, capsys):
    store = tmp_path / "store.sqlite"
    (tmp_path / "a.txt").write_text("hello")
    assert main(["index", str(tmp_path / "a.txt"), "--store", str(store), "--model-version", "1.0.1"]) == 0
    capsys.readouterr()
    assert main(["search", "hello", "--store", str(store), "--top-k", "-3"]) == 2
    assert capsys.readouterr().err == "error: top-k must be 1 or more (how many documents to return), got -3.\n"


def test_replicas_need_an_opensearch_target_and_a_count_of_zero_or_more(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("hello")
    argv = ["index", str(tmp_path / "a.txt"), "--store", str(tmp_path / "s.json"), "--replicas", "0"]
    assert main(argv) == 2 and "--replicas 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--replicas -1"):
        Target(hosts="http://localhost:9200", index="docs", replicas=-1)


@pytest.mark.integration
@pytest.mark.parametrize("replicas", [None, 0])
def test_index_replicas_option_reaches_the_new_index(opensearch_url, index_name, corpus, replicas):
    client = OpenSearch(hosts=opensearch_url)
    plain = f"{index_name}-plain"  # what the cluster gives an index that asks for nothing
    client.indices.create(index=plain)
    default = client.indices.get_settings(index=plain)[plain]["settings"]["index"]["number_of_replicas"]
    client.indices.delete(index=plain)
    argv = ["index", str(corpus), "--opensearch", opensearch_url, "--index", index_name, "--model-version", "1.0.1"]
    assert main(argv + ([] if replicas is None else ["--replicas", str(replicas)])) == 0
    settings = client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert settings["number_of_replicas"] == (default if replicas is None else str(replicas))


def test_compression_needs_an_opensearch_k_nn_target_and_a_level_the_engine_has(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("hello")
    argv = ["index", str(tmp_path / "a.txt"), "--store", str(tmp_path / "s.sqlite"), "--compression", "4x"]
    assert main(argv) == 2 and "--compression 4x: compression is for a new OpenSearch" in capsys.readouterr().err
    assert Target(hosts="http://localhost:9200", index="docs", compression="4x").new_index_options() == {
        "number_of_replicas": None, "mode": "on_disk", "compression_level": "4x", "analyzer": "english",
    }  # fmt: skip


@pytest.mark.integration
def test_index_compression_option_reaches_the_new_index(opensearch_url, index_name, corpus, capsys):
    argv = ["index", str(corpus), "--opensearch", opensearch_url, "--index", index_name, "--model-version", "1.0.1"]
    assert main([*argv, "--compression", "5x"]) == 2
    assert (
        capsys.readouterr().err == "error: The lucene engine has no compression level '5x'; it supports 1x, 4x, 32x.\n"
    )
    assert main([*argv, "--compression", "4x"]) == 0
    field = OpenSearch(hosts=opensearch_url).indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert field["properties"]["embedding"]["compression_level"] == "4x"


def test_index_and_indexing_pipeline_give_the_same_passages_and_vectors(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "long.txt").write_text(LONG)
    (folder / "notes.md").write_text("# Notes\n\n\n\nOpenSearch runs   k-NN search on vectors.  ")
    (folder / "empty.txt").write_text("")
    (folder / "blank.txt").write_text("  \n\t ")  # the cleaner makes it "": no content
    target = Target(store_path=tmp_path / "store.sqlite")
    summary = index_sources([folder], target, MINILM, progress_bar=False)
    pipeline_store = InMemoryDocumentStore()
    pipeline = indexing_pipeline(pipeline_store, model=MINILM.name, version=MINILM.version)
    pipeline.run({"converter": {"sources": list(batch.source_files([folder]))}})

    def passages(store):
        return {d.id: (d.content, d.meta, d.embedding) for d in store.filter_documents()}

    ours, theirs = passages(SQLiteDocumentStore(path=str(target.store_path))), passages(pipeline_store)
    assert ours == theirs  # ids, content, meta and vectors, exactly
    assert len([d for d in ours.values() if d[1]["file_path"] == "long.txt"]) > 1
    without = sorted((meta["file_path"], content, vector) for content, meta, vector in ours.values() if not content)
    assert without == [("blank.txt", "", None), ("empty.txt", "", None)]
    assert (summary.passages_written, summary.without_content, summary.failed) == (len(ours), 2, 0)


def test_a_passage_whose_embedding_failed_is_a_failure_and_one_without_content_is_not(tmp_path):
    local = document_embedder(MINILM.name, MINILM.version)

    class FailsOnWordFail:
        """The local embedder, but a passage containing "fail" comes back without a vector (as the cluster
        embedder returns a batch it could not embed)."""

        def run(self, documents):
            out = local.run(documents=documents)["documents"]
            return {"documents": [replace(d, embedding=None) if "fail" in (d.content or "") else d for d in out]}

    components = IndexingComponents(cleaner=DocumentCleaner(keep_id=True), splitter=None, embedder=FailsOnWordFail())
    documents = [Document(content="fine"), Document(content=""), Document(content="this will fail")]
    with open_sink(Target(store_path=tmp_path / "store.sqlite"), MINILM) as sink:
        summary = job.index_documents(documents, sink, components=components, progress_bar=False)
    assert (summary.passages_written, summary.without_content, summary.failed) == (2, 1, 1)
    assert summary.failures == ["1 passage(s) could not be embedded"]
    assert summary.line().endswith("passages written: 2, skipped: 0, failed: 1, without content: 1")
    rerun_components = IndexingComponents(cleaner=DocumentCleaner(keep_id=True), splitter=None, embedder=local)
    with open_sink(Target(store_path=tmp_path / "store.sqlite"), MINILM) as sink:
        rerun = job.index_documents(documents, sink, components=rerun_components, progress_bar=False)
    assert (rerun.passages_written, rerun.skipped, rerun.failed) == (1, 2, 0)  # only the failed one is embedded again


def test_a_repeated_document_is_written_once_and_counted_as_skipped(tmp_path):
    (tmp_path / "docs.jsonl").write_text('{"content": ""}\n{"content": ""}\n{"content": "x"}\n{"content": "x"}\n')
    target = Target(store_path=tmp_path / "store.sqlite")
    summary = index_sources([tmp_path / "docs.jsonl"], target, MINILM, progress_bar=False)
    assert (summary.passages_written, summary.skipped, summary.without_content) == (2, 2, 1)
    assert SQLiteDocumentStore(path=str(target.store_path)).count_documents() == 2
