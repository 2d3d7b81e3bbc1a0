"""Local TorchScript ≡ node (issue 19): the tiny sparse encoder's maps, documents sparse-encoded locally into an
OpenSearch index and searched there with the cluster's sparse queries, and the mirror's TorchScript MiniLM."""

import json
import re

import numpy as np
import pytest
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained import LocalSparseDocumentEmbedder
from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralSparseRetriever
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.cluster import MLCommonsClient
from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.indices.sparse import sparse_document_store, write_sparse_documents
from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder
from opensearch_pretrained_haystack.inference.torchscript_embedder import LocalTorchScriptEmbedder
from tests.conftest import REFERENCE, TESTING
from tests.indices.test_sparse import assert_same_hits, cluster_queries, corpus
from tests.sparse_models import SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR, deployed_sparse_model
from tests.test_parity_on_node import deployed, release

TEXTS = json.loads((TESTING / "texts.json").read_text())

pytestmark = pytest.mark.integration


@pytest.fixture
def sparse_index(opensearch_url, index_name):
    """A throw-away sparse index (``index_name`` deletes it) and its ingest pipeline, removed afterwards."""
    yield index_name
    OpenSearch(hosts=opensearch_url).ingest.delete_pipeline(id=f"{index_name}-sparse", ignore=[404])


@pytest.fixture(scope="module")
def sparse_models(opensearch_url):
    return deployed_sparse_model(opensearch_url, "encoder"), deployed_sparse_model(opensearch_url, "tokenizer")


def test_local_sparse_maps_equal_the_nodes_for_every_shared_text(opensearch_url, sparse_models):
    encoder_id, _ = sparse_models
    node = OpenSearchMLSparseEncoder(opensearch_url, encoder_id).encode(TEXTS)
    local = LocalSparseEncoder(SPARSE_ENCODER_DIR)
    try:
        for position, (ours, theirs) in enumerate(zip(local.encode(TEXTS), node, strict=True)):
            assert ours.keys() == theirs.keys(), position
            assert all(abs(ours[t] - theirs[t]) <= 1e-5 for t in theirs), position
    finally:
        local.close()


def test_documents_encoded_locally_rank_like_ingest_encoded_ones(opensearch_url, sparse_models, sparse_index):
    encoder_id, tokenizer_id = sparse_models
    docs = corpus()[:60]
    pipeline_store = sparse_document_store(opensearch_url, sparse_index, model_id=encoder_id, number_of_replicas=0)
    pipeline_store.write_documents(docs, refresh=True)

    local_index = f"{sparse_index}-local"
    embedder = LocalSparseDocumentEmbedder(model=str(SPARSE_ENCODER_DIR), progress_bar=False)
    try:
        encoded = embedder.run(documents=docs)["documents"]
        store = sparse_document_store(opensearch_url, local_index, number_of_replicas=0)
        vocabulary = embedder._backend.warm_up().vocabulary
        assert write_sparse_documents(store, encoded, vocabulary=vocabulary) == len(docs)
        for query in cluster_queries(opensearch_url, encoder_id, docs, count=4):
            for model_id in (tokenizer_id, encoder_id):  # the cluster's query tokenizer, and the bi-encoder
                expected = OpenSearchNeuralSparseRetriever(document_store=pipeline_store, model_id=model_id, top_k=10)
                found = OpenSearchNeuralSparseRetriever(document_store=store, model_id=model_id, top_k=10)
                assert_same_hits(found.run(query=query)["documents"], expected.run(query=query)["documents"])
    finally:
        embedder.close()
        OpenSearch(hosts=opensearch_url).indices.delete(index=local_index, ignore_unavailable=True)


def test_the_mirrors_torch_script_minilm_equals_the_node(opensearch_url):
    ml = MLCommonsClient(OpenSearch(hosts=opensearch_url, timeout=120))
    model = deployed(ml, "all-MiniLM-L6-v2", "TORCH_SCRIPT")  # traced with torch 2.13; 2.19.1's DJL runs 1.13.1
    texts = json.loads((REFERENCE / "texts.json").read_text())[:40]
    try:
        node = OpenSearchMLEmbedder(opensearch_url, model.model_id).embed(texts)
    finally:
        release(ml, model)
    local = LocalTorchScriptEmbedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)
    try:
        difference = float(np.abs(local.embed(texts) - node).max())
        print(f"TorchScript MiniLM, local vs node: max abs difference {difference:.2e}")
        assert difference <= 1e-5
    finally:
        local.close()


@pytest.mark.parametrize(
    "folder",
    [SPARSE_ENCODER_DIR, SPARSE_TOKENIZER_DIR, TESTING / "tiny-cross-encoder" / "torch_script"],
    ids=["sparse-encoder", "sparse-tokenizer", "cross-encoder-torch-script"],
)
def test_verify_parity_passes_for_every_family(opensearch_url, sparse_models, folder, capsys):
    ml = MLCommonsClient(OpenSearch(hosts=opensearch_url, timeout=120))
    command = ["verify-parity", str(folder), "--opensearch", opensearch_url, "--source", "client"]
    status = main(command)
    out = capsys.readouterr().out
    model_id, how = re.search(r": (\S+) \((registered|reused)", out).groups()
    try:
        assert status == 0 and "PASS" in out, out
        assert ("0 with other tokens" in out) if "sparse" in str(folder) else ("cross-encoder logits" in out)
    finally:
        if how == "registered" and model_id not in sparse_models:
            ml.undeploy(model_id)
            ml.delete_model(model_id)
