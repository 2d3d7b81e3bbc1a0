"""Local ≡ cluster for every architecture of the catalog, through the package's own uploader and remote embedder,
on whichever server version `opensearch_url` runs (CI runs this file once per version), plus `verify-parity`.

Each model this file registers is undeployed and deleted afterwards, so the node's memory stays free; a model that
was already there (another test's, reused by the idempotent uploader) is left as it was.
"""

import json
import re
import time
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.cluster import MLCommonsClient
from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.uploader import DeployedModel, ModelRequest, upload_and_deploy
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from opensearch_pretrained_haystack.parity import verify_parity
from tests.conftest import MIRROR, TESTING

pytestmark = pytest.mark.integration

TEXTS = json.loads((TESTING / "texts.json").read_text())
TINY = ["tiny-roberta-mean", "tiny-mpnet-cls", "tiny-xlmr-bert-mean", "tiny-bert-mean", "tiny-distilbert-cls"]
# (model as the uploader takes it, format deployed in the cluster)
CASES = [(str(TESTING / name), "ONNX") for name in TINY] + [
    ("all-MiniLM-L6-v2", "ONNX"),
    ("all-MiniLM-L6-v2", "TORCH_SCRIPT"),
]


@pytest.fixture(scope="module")
def ml(opensearch_url: str) -> Iterator[MLCommonsClient]:
    client = MLCommonsClient(OpenSearch(hosts=opensearch_url, timeout=120))
    yield client
    client.client.close()


def deployed(ml: MLCommonsClient, model: str, model_format: str) -> DeployedModel:
    version = None if model.startswith("/") else "1.0.1"
    return upload_and_deploy(ml, ModelRequest(model, version, model_format, source="client", mirror=MIRROR))


def release(ml: MLCommonsClient, model: DeployedModel) -> None:
    """Undeploy and delete a model this test registered; leave a reused one to its owner."""
    if not model.reused:
        ml.undeploy(model.model_id)
        ml.delete_model(model.model_id)


@pytest.mark.parametrize(("model", "model_format"), CASES, ids=[f"{m.rsplit('/', 1)[-1]}-{f}" for m, f in CASES])
def test_the_uploaded_model_embeds_in_the_cluster_exactly_like_the_local_engine(
    opensearch_url, ml, model, model_format, capsys
):
    started = time.monotonic()
    cluster_model = deployed(ml, model, model_format)
    try:
        assert cluster_model.state in {"DEPLOYED", "LOADED"} and cluster_model.format == model_format
        local = LocalOnnxEmbedder(model, None if model.startswith("/") else "1.0.1", mirror=MIRROR)
        remote = OpenSearchMLEmbedder(opensearch_url, cluster_model.model_id, batch_size=16)
        try:
            report = verify_parity(local, remote, TEXTS)
        finally:
            remote.close()
    finally:
        release(ml, cluster_model)
    version = ".".join(map(str, ml.server_profile().version))
    with capsys.disabled():
        print(
            f"\nPARITY {local.name} {model_format} OpenSearch {version}: max |diff| {report.max_abs_diff:.1e}, "
            f"relative {report.max_relative_diff:.1e}, min cosine {report.min_cosine:.8f}, "
            f"{time.monotonic() - started:.1f} s"
        )
    assert report.n_texts == len(TEXTS)
    assert report.passed(1e-5), report
    assert report.min_cosine >= 1 - 1e-6


def test_verify_parity_deploys_reuses_and_passes_on_the_cluster(opensearch_url, ml, capsys):
    command = ["verify-parity", str(TESTING / "tiny-mpnet-cls"), "--opensearch", opensearch_url, "--source", "client"]
    assert main(command) == 0
    first = capsys.readouterr().out
    model_id, how = re.search(r": (\S+) \((registered|reused)", first).groups()
    try:
        assert "PASS" in first and "min cosine" in first and "max |diff|" in first
        assert main(command) == 0
        assert f"{model_id} (reused" in capsys.readouterr().out
    finally:
        if how == "registered":
            ml.undeploy(model_id)
            ml.delete_model(model_id)


def test_verify_parity_fails_with_a_non_zero_exit_for_another_models_id(opensearch_url, ml, capsys):
    """Same dimension (32), other weights: FAIL with numbers; another dimension: one error line."""
    other = deployed(ml, str(TESTING / "tiny-bert-mean"), "ONNX")
    try:
        tiny_xlmr = str(TESTING / "tiny-xlmr-bert-mean")
        assert main(["verify-parity", tiny_xlmr, "--opensearch", opensearch_url, "--model-id", other.model_id]) == 1
        out = capsys.readouterr().out
        assert "FAIL" in out and "worst text" in out
        minilm = ["verify-parity", "all-MiniLM-L6-v2", "--model-version", "1.0.1", "--opensearch", opensearch_url]
        assert main([*minilm, "--mirror", str(MIRROR), "--model-id", other.model_id]) == 1
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "not the same model" in error and "Traceback" not in error
    finally:
        release(ml, other)


def test_verify_parity_refuses_insecure_with_a_ca_bundle_in_one_line(capsys):
    assert main(["verify-parity", "x", "--opensearch", "https://localhost:9200", "--insecure", "--ca-certs", "c"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
