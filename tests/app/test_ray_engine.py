"""`index --engine ray` (issue 13): the local engine's passages, vectors and summary, resumable, idempotent, and
fault-tolerant, on a local Ray against the real test node."""

import json
import os
import secrets
import sys
import time
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.app import batch
from opensearch_pretrained_haystack.app.batch import IndexSummary, Target, index_sources, read_documents
from opensearch_pretrained_haystack.app.batch.ray_options import RAY_MISSING, RayOptions
from opensearch_pretrained_haystack.app.batch.shards import plan_shards, read_shard
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.indices.knn import document_store_for

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
LONG = " ".join(f"Sentence {i} is about the history of topic {i}." for i in range(80))


@pytest.fixture(scope="session")
def local_ray(offline_artifacts):
    """A local 2-CPU Ray for the session, with token auth as Ray 2.60 sets it up for a local cluster (on by default;
    the token comes from the environment, so none is written to ~/.ray); workers inherit the artifact mirror."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs Ray for the Ray engine tests: {RAY_MISSING}")
        pytest.skip(RAY_MISSING)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RAY_AUTH_MODE", raising=False)
        patch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # test embedders reach the workers
        try:
            yield ray
        finally:
            ray.shutdown()


def jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    return path


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "notes.md").write_text("# Notes\n\nOpenSearch runs k-NN search on vectors.")
    records = [{"content": f"Document {i} about gardening and tomatoes.", "meta": {"i": i}} for i in range(20)]
    jsonl(folder / "docs.jsonl", [*records, {"id": "long", "content": LONG}, {"content": "   "}])
    (folder / "docs.jsonl").open("a").write('{"content": 3}\n')  # a bad line, reported as file:line
    return folder


def documents(count: int) -> list[dict]:
    return [{"content": f"Passage {i}: notes on topic {i % 37} and item {i}.", "meta": {"n": i}} for i in range(count)]


def stored(url: str, index: str) -> dict[str, list[float] | None]:
    store = document_store_for(MINILM, url, index, create_index=False, return_embedding=True)
    return {document.id: document.embedding for document in store.filter_documents()}


def count(url: str, index: str) -> int:
    client = OpenSearch(hosts=url)
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def on_ray(sources, target, **options) -> IndexSummary:
    return index_sources(sources, target, MINILM, progress_bar=False, engine="ray", ray=RayOptions(**options))


# --- Pure logic: shards ----------------------------------------------------------------------------------------


def test_shards_read_exactly_what_read_documents_reads(corpus, tmp_path):
    sources = [corpus, tmp_path / "missing.txt"]
    whole, sharded = IndexSummary(), IndexSummary()
    expected = list(read_documents(sources, whole))
    shards = list(plan_shards(sources, documents_per_shard=3))
    got = [document for shard in shards for document in read_shard(shard, sharded)]
    assert [d.id for d in got] == [d.id for d in expected] and len(shards) > 5
    assert sum(shard.documents for shard in shards) == len(expected) + 2  # the bad line and the missing file
    assert sharded.failures == whole.failures and any(":23:" in reason for reason in whole.failures)


def test_the_sink_passes_over_zero_row_and_zero_column_blocks(local_ray):
    import pyarrow as pa

    from opensearch_pretrained_haystack.app.batch.ray_engine import OpenSearchDatasink, RayJob

    sink = OpenSearchDatasink(RayJob(Target(hosts="http://127.0.0.1:1", index="never-reached"), MINILM.name, "1.0.1"))
    empty = pa.table({"kind": pa.array([], pa.string()), "id": pa.array([], pa.string())})
    returned = sink.write([pa.table({}), empty], None)
    assert (returned["passages_written"], returned["documents_read"], returned["failures"]) == (0, 0, [])


# --- On Ray, against the test node ----------------------------------------------------------------------------


@pytest.mark.integration
def test_ray_engine_writes_the_vectors_and_summary_of_the_local_engine(local_ray, opensearch_url, index_name, corpus):
    local = index_sources(
        [corpus], Target(hosts=opensearch_url, index=f"{index_name}-local"), MINILM, progress_bar=False
    )
    try:
        summary = on_ray([corpus], Target(hosts=opensearch_url, index=index_name))
        assert summary.line() == local.line() and summary.failed == 1 and summary.without_content == 1
        expected, got = stored(opensearch_url, f"{index_name}-local"), stored(opensearch_url, index_name)
    finally:
        OpenSearch(hosts=opensearch_url).indices.delete(index=f"{index_name}-local", ignore_unavailable=True)
    assert got.keys() == expected.keys() and len(got) == summary.passages_written
    worst = max(
        max(abs(a - b) for a, b in zip(got[i], expected[i], strict=True)) for i in expected if expected[i] is not None
    )
    assert worst <= 1e-6


@pytest.mark.integration
def test_half_then_all_writes_the_remainder_and_a_third_run_writes_nothing(
    local_ray, opensearch_url, index_name, tmp_path
):
    records = documents(600)  # three shards of 256 documents
    half, full = jsonl(tmp_path / "half.jsonl", records[:300]), jsonl(tmp_path / "full.jsonl", records)
    target = Target(hosts=opensearch_url, index=index_name)
    first = on_ray([half], target)
    second = on_ray([full], target)
    assert (first.passages_written, second.passages_written, second.skipped) == (300, 300, 300)
    assert count(opensearch_url, index_name) == 600
    third = on_ray([full], target)  # every block reaches the sink with no passage left
    assert (third.documents_read, third.passages_written, third.skipped, third.failed) == (600, 0, 600, 0)


class FailsOnce:
    """The local embedder, except that the first batch any actor gets raises (once across all processes)."""

    def __init__(self, job, marker: str) -> None:
        from opensearch_pretrained_haystack.app.batch.ray_engine import default_embedder

        self._embedder, self._marker = default_embedder(job), marker

    def warm_up(self) -> None:
        self._embedder.warm_up()

    def run(self, documents):
        try:
            os.close(os.open(self._marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return self._embedder.run(documents=documents)
        raise RuntimeError("injected worker failure")


@pytest.mark.integration
def test_a_block_that_raises_once_is_retried_and_every_passage_written_once(
    local_ray, opensearch_url, index_name, tmp_path
):
    from opensearch_pretrained_haystack.app.batch.ray_engine import index_sources_on_ray

    marker = tmp_path / "failed-once"
    summary = index_sources_on_ray(
        [jsonl(tmp_path / "docs.jsonl", documents(300))], Target(hosts=opensearch_url, index=index_name), MINILM,
        options=RayOptions(), progress_bar=False, make_embedder=lambda job: FailsOnce(job, str(marker)),
    )  # fmt: skip
    assert marker.exists()
    assert (summary.passages_written, summary.failed) == (300, 0)
    assert count(opensearch_url, index_name) == 300


@pytest.mark.integration
@pytest.mark.parametrize("status", [429, 503])
def test_bulk_rejections_are_retried_with_backoff(local_ray, opensearch_url, index_name, tmp_path, status):
    document_store_for(MINILM, opensearch_url, index_name, number_of_replicas=0)
    with FaultProxy(opensearch_url, failures=2, status=status, paths=("/_bulk",)) as proxy:
        summary = on_ray([jsonl(tmp_path / "docs.jsonl", documents(300))], Target(hosts=proxy.url, index=index_name))
    assert proxy.injected == 2
    assert (summary.passages_written, summary.failed) == (300, 0)
    assert count(opensearch_url, index_name) == 300


@pytest.mark.integration
def test_passages_that_cannot_be_written_are_reported_by_id_and_counted(
    local_ray, opensearch_url, index_name, tmp_path
):
    document_store_for(MINILM, opensearch_url, index_name, number_of_replicas=0)
    with FaultProxy(opensearch_url, failures=1000, status=503, paths=("/_bulk",)) as proxy:
        summary = on_ray([jsonl(tmp_path / "docs.jsonl", documents(10))], Target(hosts=proxy.url, index=index_name))
    assert (summary.passages_written, summary.failed) == (0, 10)
    assert "10 passage(s) not written (" in summary.failures[0] and "503" in summary.failures[0]
    assert count(opensearch_url, index_name) == 0


def test_the_embedded_store_is_refused(tmp_path, corpus, capsys):
    code = main(["index", str(corpus), "--store", str(tmp_path / "s.json"), "--engine", "ray"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and lines == [
        "error: --engine ray writes from many processes at once, and the embedded store is one local file: give "
        "--opensearch URL --index NAME, or use --engine local."
    ]
    assert not (tmp_path / "s.json").exists()


def test_without_ray_engine_ray_is_one_line_saying_what_to_install(corpus, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    monkeypatch.delitem(sys.modules, "opensearch_pretrained_haystack.app.batch.ray_engine", raising=False)
    monkeypatch.delattr(batch, "ray_engine", raising=False)
    code = main(["index", str(corpus), "--opensearch", "http://127.0.0.1:1", "--index", "x", "--engine", "ray"])
    assert code == 1 and capsys.readouterr().err.strip().splitlines() == [f"error: {RAY_MISSING}"]


def test_ray_arguments_need_engine_ray(corpus, capsys):
    assert main(["index", str(corpus), "--workers", "2"]) == 2
    assert capsys.readouterr().err.strip() == "error: --workers set(s) up Ray: give --engine ray with it."


def test_an_unreachable_ray_address_fails_in_seconds_in_one_line(corpus, capsys):
    started = time.monotonic()
    argv = ["index", str(corpus), "--opensearch", "http://127.0.0.1:1", "--index", "x", "--engine", "ray"]
    code = main([*argv, "--ray-address", "127.0.0.1:1"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: --ray-address 127.0.0.1:1: no Ray there (")
    assert time.monotonic() - started < 60  # ray.init alone retried for 824 s


@pytest.mark.integration
def test_ray_engine_sparse_encodes_as_the_local_engine(local_ray, opensearch_url, index_name, corpus):
    from haystack_integrations.components.embedders.opensearch_pretrained import LocalSparseTextEmbedder
    from opensearch_pretrained_haystack.indices.sparse import SPARSE_FIELD
    from tests.sparse_models import SPARSE_ENCODER_DIR

    encoder = str(SPARSE_ENCODER_DIR)
    local_index = f"{index_name}-local"
    local = index_sources(
        [corpus], Target(hosts=opensearch_url, index=local_index, sparse_encoder=encoder), MINILM, progress_bar=False
    )
    embedder = LocalSparseTextEmbedder(model=encoder, progress_bar=False)
    client = OpenSearch(hosts=opensearch_url)
    try:
        summary = on_ray([corpus], Target(hosts=opensearch_url, index=index_name, sparse_encoder=encoder))
        assert summary.line() == local.line() and summary.passages_written > 20
        client.indices.refresh(index=local_index)
        for text in ("gardening and tomatoes", "history of topic 7", "k-NN search on vectors"):
            tokens = embedder.to_token_weights(embedder.run(text=text)["sparse_embedding"])
            body = {"size": 10, "query": {"neural_sparse": {SPARSE_FIELD: {"query_tokens": tokens}}}}
            found = [(h["_id"], h["_score"]) for h in client.search(index=index_name, body=body)["hits"]["hits"]]
            expected = [(h["_id"], h["_score"]) for h in client.search(index=local_index, body=body)["hits"]["hits"]]
            assert found == expected and found
    finally:
        embedder.close()
        client.indices.delete(index=local_index, ignore_unavailable=True)
