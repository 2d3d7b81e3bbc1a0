"""The rules both indexing engines share (``app/batch/core.py``): which passages to embed and which to write."""

import json
import logging
from dataclasses import asdict

from haystack import Document

from opensearch_pretrained_haystack.app.batch.core import (
    MAX_FAILURES_KEPT,
    IndexSummary,
    embedded_passages,
    new_passages,
    write_passages,
)
from opensearch_pretrained_haystack.app.batch.targets import PassagesNotWrittenError


def test_new_passages_skip_what_is_stored_and_keep_one_of_each_repeated_id():
    a, b, c = Document(id="a", content="A"), Document(id="b", content="B"), Document(id="c", content="C")
    new, skipped = new_passages([a, b, a, c, b], stored={"c"})
    assert [p.id for p in new] == ["a", "b"] and skipped == 3


def test_a_passage_with_content_and_no_vector_failed_but_one_without_content_is_written():
    vector = Document(id="v", content="text", embedding=[0.1])
    lost = Document(id="l", content="text")
    empty = Document(id="e", content="")
    kept, failed = embedded_passages([vector, lost, empty])
    assert [p.id for p in kept] == ["v", "e"] and failed == 1
    kept, failed = embedded_passages([vector, lost, empty], vectors_expected=False)  # the cluster encodes at ingest
    assert [p.id for p in kept] == ["v", "l", "e"] and failed == 0


def test_neither_engine_imports_the_other():
    import ast
    from pathlib import Path

    import opensearch_pretrained_haystack.app.batch as batch

    folder = Path(batch.__file__).parent
    for module, other in (("ray_engine", "job"), ("core", "job"), ("core", "ray_engine")):
        tree = ast.parse((folder / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert f"opensearch_pretrained_haystack.app.batch.{other}" not in imported, (module, other)


def test_a_workers_share_logs_nothing_and_the_run_adds_it_exactly_and_logs_it_once(caplog):
    share = IndexSummary(quiet=True)
    with caplog.at_level(logging.WARNING):
        share.documents_read, share.passages_written, share.skipped = 7, 5, 1
        for i in range(MAX_FAILURES_KEPT + 3):
            share.fail(2, f"reason {i}")
    assert caplog.records == []  # Ray would forward each worker's warning to the driver: the driver logs it
    assert share.failed == 2 * (MAX_FAILURES_KEPT + 3) and share.unlisted == 6
    run = IndexSummary()
    with caplog.at_level(logging.WARNING):
        run.add(IndexSummary(**json.loads(json.dumps(asdict(share)))))  # as a report row travels
    assert (run.documents_read, run.passages_written, run.skipped, run.failed) == (7, 5, 1, share.failed)
    assert run.failures[:2] == ["reason 0", "reason 1"] and len(run.failures) == MAX_FAILURES_KEPT
    assert run.unlisted == 6  # the run's list is full: the share's "not listed" line counts there
    logged = [r.getMessage() for r in caplog.records]
    assert logged.count("reason 0") == 1 and logged[-1] == "6 more failure(s), not listed"


class _PartlyWritten:
    """A sink whose write stores the first passage and fails the rest for good."""

    def stored_ids(self, ids: list[str]) -> set[str]:
        return set()

    def write(self, documents: list[Document]) -> int:
        ids = [document.id for document in documents[1:]]
        raise PassagesNotWrittenError(f"{len(ids)} passage(s) not written", ids, written=1)


def test_a_partly_failed_write_counts_what_was_written_and_fails_the_rest_by_id():
    summary = IndexSummary(quiet=True)
    passages = [Document(id="a", content="A"), Document(id="b", content=""), Document(id="c", content="C")]
    write_passages(_PartlyWritten(), passages, summary)
    assert (summary.passages_written, summary.failed, summary.without_content) == (1, 2, 1)
    assert summary.failures == ["2 passage(s) not written"]
