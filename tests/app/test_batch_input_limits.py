"""No single input stops a run or is held whole beyond the limits (issue 24): a record nested too deep, a line or
a file too long, each reported as ``file:line: why`` and counted, the rest read; a UTF-8 BOM is accepted."""

import json

from opensearch_pretrained_haystack.app.batch import IndexSummary, count_documents, read_documents, sources
from opensearch_pretrained_haystack.app.batch.shards import plan_shards, read_shard
from opensearch_pretrained_haystack.app.cli.main import main


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def test_a_record_nested_too_deep_is_one_reported_line_and_the_rest_is_read(tmp_path):
    lines = [
        json.dumps({"content": "first"}),
        json.dumps({"content": "deep", "meta": _nested(500)}),
        "[" * 100_000 + "]" * 100_000,  # past Python's own recursion limit in the JSON parser
        json.dumps({"content": "allowed", "meta": _nested(sources.MAX_DEPTH - 2)}),
    ]
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = IndexSummary()
    assert [d.content for d in read_documents([path], summary)] == ["first", "allowed"]
    assert summary.failed == 2
    assert summary.failures == [
        f"{path}:2: the record nests deeper than {sources.MAX_DEPTH} levels of objects and arrays",
        f"{path}:3: the record nests deeper than {sources.MAX_DEPTH} levels of objects and arrays",
    ]


def test_a_utf8_bom_is_accepted_at_the_start_of_a_jsonl_file(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"content": "one"}\n{"content": "two"}\n')
    summary = IndexSummary()
    assert [d.content for d in read_documents([path], summary)] == ["one", "two"]
    assert summary.failed == 0


def test_a_line_or_file_longer_than_the_limit_is_reported_unread_and_the_rest_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_DOCUMENT_BYTES", 1000)
    path = tmp_path / "long.jsonl"
    long_line = json.dumps({"content": "x" * 5000})
    path.write_text("\n".join([json.dumps({"content": "a"}), long_line, json.dumps({"content": "b"})]) + "\n")
    (tmp_path / "big.txt").write_text("word " * 1000)
    summary = IndexSummary()
    assert [d.content for d in read_documents([path, tmp_path / "big.txt"], summary)] == ["a", "b"]
    assert summary.failures == [
        f"{path}:2: a line of {len(long_line) + 1} bytes, more than the 1000 one document may hold",
        f"{tmp_path / 'big.txt'}: larger than 1000 bytes, the most one document may hold: split the file",
    ]
    assert count_documents([path]) == 3
    shards = list(plan_shards([path], documents_per_shard=1))  # shards skip the long line by its full length
    from_shards = IndexSummary()
    assert [d.content for shard in shards for d in read_shard(shard, from_shards)] == ["a", "b"]
    assert from_shards.failures == summary.failures[:1]


def test_cli_index_of_a_too_deep_record_counts_it_and_writes_the_rest(tmp_path, capsys, caplog):
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"content": "fine"}) + "\n" + json.dumps({"content": "x", "meta": _nested(500)}) + "\n")
    store = str(tmp_path / "store.sqlite")
    assert main(["index", str(path), "--store", store, "--model-version", "1.0.1"]) == 1
    captured = capsys.readouterr()
    assert "passages written: 1, skipped: 0, failed: 1" in captured.out
    assert f"{path}:2: the record nests deeper" in caplog.text and "Traceback" not in captured.err
