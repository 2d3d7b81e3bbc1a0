"""Issue 14 on the real node: the store's own requests survive faults, garbage answers are retried, errors are one
line, and TLS is verified on every client path (a self-signed HTTPS proxy in front of the node, made by trustme)."""

import json
import logging
import ssl
from pathlib import Path

import pytest
import trustme
from fault_proxy import PREDICT, STORE, FaultProxy
from haystack import Document
from haystack.utils import Secret
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_document_embedder import (
    OpenSearchMLDocumentEmbedder,
)
from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_text_embedder import (
    OpenSearchMLTextEmbedder,
)
from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralRetriever
from opensearch_pretrained_haystack.app.batch import Target, index_sources
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster import CertificateError, MLCommonsClient
from opensearch_pretrained_haystack.indices.knn import document_store_for
from opensearch_pretrained_haystack.indices.neural import neural_document_store

TINY = Path(__file__).resolve().parents[2].parent / "shared" / "testing" / "tiny-bert-mean"
MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
AUTH = (Secret.from_env_var("OPENSEARCH_USERNAME"), Secret.from_env_var("OPENSEARCH_PASSWORD"))
V = ["--model-version", "1.0.1"]  # the version in ../shared/mirror
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_model_id(opensearch_url: str) -> str:
    return PretrainedModelUploader(opensearch_url, str(TINY), source="client").run()["model_id"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    lines = [json.dumps({"id": f"d{i}", "content": f"Document {i} about tomatoes and basil."}) for i in range(40)]
    (tmp_path / "docs.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "docs.jsonl"


# --- 7, 9: the store's own requests ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [{"status": 429}, {"status": 503}, {"reset": True}, {"status": 200, "garbage": True}])
def test_index_survives_faults_on_the_stores_own_requests(opensearch_url, index_name, corpus, fault, caplog):
    with (
        caplog.at_level(logging.INFO),
        FaultProxy(opensearch_url, paths=STORE, every=2, head_index=True, **fault) as proxy,
    ):
        summary = index_sources(
            [corpus], Target(hosts=proxy.url, index=index_name), MINILM, group_size=8, progress_bar=False
        )
    assert proxy.injected >= 5
    assert (summary.documents_read, summary.passages_written, summary.failed) == (40, 40, 0)
    assert "Traceback" not in caplog.text  # one line per retry, no traceback for a handled fault
    assert document_store_for(MINILM, opensearch_url, index_name).count_documents() == 40


def test_a_write_that_keeps_failing_is_reported_by_id_and_the_run_goes_on(opensearch_url, index_name, corpus):
    with FaultProxy(opensearch_url, paths=("/_bulk",), failures=20, status=503) as proxy:
        summary = index_sources(
            [corpus], Target(hosts=proxy.url, index=index_name), MINILM, group_size=20, progress_bar=False
        )
    assert (summary.passages_written, summary.failed) == (
        20,
        20,
    )  # the first group outlived its attempts (ours x opensearch-py's)
    assert "20 passage(s) not written (" in summary.failures[0] and "503" in summary.failures[0]


def test_unreachable_cluster_and_bad_index_name_are_one_line(opensearch_url, corpus, capsys):
    assert main(["search", "q", "--opensearch", "http://127.0.0.1:9", "--index", "x", *V]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "index 'x' at http://127.0.0.1:9" in err[0] and "could not reach" in err[0]
    assert main(["index", str(corpus), "--opensearch", opensearch_url, "--index", "Bad,Name", *V]) == 1
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("Indexing")]
    assert len(err) == 1 and "Bad,Name" in err[0] and "rejected" in err[0]


def test_a_top_k_beyond_the_knn_limit_is_refused_clearly_and_a_large_one_is_capped(
    opensearch_url, index_name, corpus, capsys
):
    assert main(["index", str(corpus), "--opensearch", opensearch_url, "--index", index_name, *V]) == 0
    capsys.readouterr()
    assert (
        main(["search", "tomatoes", "--opensearch", opensearch_url, "--index", index_name, "--top-k", "3000", *V]) == 0
    )
    assert len(capsys.readouterr().out.strip().splitlines()) == 40
    assert (
        main(["search", "tomatoes", "--opensearch", opensearch_url, "--index", index_name, "--top-k", "20000", *V]) == 2
    )
    assert "10,000" in capsys.readouterr().err


# --- 8: a 200 whose body is not JSON ----------------------------------------------------------------------------


def test_garbage_200_on_predict_is_a_failed_batch_retried_then_kept(opensearch_url, tiny_model_id):
    docs = [Document(content=f"text {i}") for i in range(6)]
    with FaultProxy(opensearch_url, paths=PREDICT, failures=1, status=200, garbage=True) as proxy:
        result = OpenSearchMLDocumentEmbedder(proxy.url, tiny_model_id, batch_size=3, progress_bar=False).run(docs)
    assert proxy.injected == 1 and result["meta"]["documents_embedded"] == 6
    with FaultProxy(opensearch_url, paths=PREDICT, failures=100, status=200, garbage=True):
        embedder = OpenSearchMLDocumentEmbedder(
            proxy.url, tiny_model_id, batch_size=3, max_retries=1, progress_bar=False
        )
        result = embedder.run(docs)
    assert [d.id for d in result["documents"]] == [d.id for d in docs] and result["meta"]["documents_failed"] == 6


def test_meta_names_the_model_and_its_id(opensearch_url, tiny_model_id):
    meta = OpenSearchMLTextEmbedder(opensearch_url, tiny_model_id).run(text="hello")["meta"]
    name = MLCommonsClient(OpenSearch(opensearch_url)).get_model(tiny_model_id)["name"]
    assert meta == {"model": name, "model_id": tiny_model_id} and name != tiny_model_id


# --- 1: TLS on every client path --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_proxy(opensearch_url, ca, monkeypatch):
    monkeypatch.setenv("OPENSEARCH_USERNAME", "admin")
    monkeypatch.setenv("OPENSEARCH_PASSWORD", "hunter2")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FaultProxy(opensearch_url, tls=context) as proxy:
        yield proxy
    assert proxy.authorizations == [] or proxy.trusted  # credentials only ever go to a verified server


@pytest.fixture
def ca_file(ca, tmp_path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def refused(call) -> None:
    with pytest.raises(CertificateError, match="--ca-certs"):
        call()


def test_store_and_neural_store_verify_tls(https_proxy, ca_file, index_name, tiny_model_id):
    https_proxy.trusted = False
    refused(lambda: document_store_for(MINILM, https_proxy.url, index_name))
    refused(lambda: neural_document_store(MINILM, https_proxy.url, index_name, tiny_model_id))
    assert https_proxy.authorizations == []
    https_proxy.trusted = True
    assert document_store_for(MINILM, https_proxy.url, index_name, ca_certs=ca_file).count_documents() == 0


async def test_embedders_sync_and_async_and_uploader_verify_tls(https_proxy, ca_file, tiny_model_id):
    https_proxy.trusted = False
    refused(lambda: OpenSearchMLTextEmbedder(https_proxy.url, tiny_model_id, http_auth=AUTH).run(text="x"))
    with pytest.raises(CertificateError):
        await OpenSearchMLTextEmbedder(https_proxy.url, tiny_model_id, http_auth=AUTH).run_async(text="x")
    docs = OpenSearchMLDocumentEmbedder(https_proxy.url, tiny_model_id, http_auth=AUTH, progress_bar=False)
    assert docs.run([Document(content="x")])["meta"]["documents_failed"] == 1  # refused, not retried, doc kept
    refused(lambda: PretrainedModelUploader(https_proxy.url, str(TINY), source="client", http_auth=AUTH).run())
    assert https_proxy.authorizations == []
    https_proxy.trusted = True
    embedder = OpenSearchMLTextEmbedder(https_proxy.url, tiny_model_id, http_auth=AUTH, ca_certs=ca_file)
    assert len(embedder.run(text="x")["embedding"]) > 0
    assert len((await embedder.run_async(text="x"))["embedding"]) > 0


def test_neural_retriever_verifies_tls_of_a_store_built_by_the_user(https_proxy, tiny_model_id):
    https_proxy.trusted = False
    store = OpenSearchDocumentStore(hosts=https_proxy.url, index="docs")  # opensearch-haystack's verify_certs=None
    refused(lambda: OpenSearchNeuralRetriever(document_store=store, model_id=tiny_model_id).run(query="x"))
    assert https_proxy.authorizations == []


def test_cli_index_and_search_verify_tls(https_proxy, ca_file, index_name, corpus, capsys, caplog):
    https_proxy.trusted = False
    for command in (["index", str(corpus), *V], ["search", "tomatoes", *V]):
        assert main([*command, "--opensearch", https_proxy.url, "--index", index_name]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "certificate" in err[0] and "--ca-certs" in err[0]
    assert https_proxy.authorizations == []
    https_proxy.trusted = True
    target = ["--opensearch", https_proxy.url, "--index", index_name, *V]
    assert main(["index", str(corpus), *target, "--ca-certs", ca_file]) == 0
    assert main(["search", "tomatoes", *target, "--ca-certs", ca_file]) == 0
    with caplog.at_level(logging.WARNING):
        assert main(["search", "tomatoes", *target, "--insecure"]) == 0
    assert "TLS certificate verification is OFF" in caplog.text
