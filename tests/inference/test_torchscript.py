"""The TorchScript runtime and the dense TorchScript embedder, on the mirror's all-MiniLM-L6-v2 1.0.1 artifact."""

import json
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from opensearch_pretrained_haystack.artifacts import loaded_artifacts, resolve_artifact
from opensearch_pretrained_haystack.errors import MissingExtraError, ModelInputError
from opensearch_pretrained_haystack.inference.onnx_embedder import LocalOnnxEmbedder
from opensearch_pretrained_haystack.inference.text_embedding import local_embedder
from opensearch_pretrained_haystack.inference.torchscript import TORCH_MISSING, import_torch, shared_script_model
from opensearch_pretrained_haystack.inference.torchscript_embedder import LocalTorchScriptEmbedder
from tests.conftest import REFERENCE, TESTING

TEXTS = json.loads((REFERENCE / "texts.json").read_text())


@pytest.fixture(scope="module")
def minilm_torch() -> Iterator[LocalTorchScriptEmbedder]:
    embedder = LocalTorchScriptEmbedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)
    yield embedder
    embedder.close()


def test_equals_sentence_transformers_at_128_tokens_on_every_reference_text(minilm_torch):
    vectors = minilm_torch.embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    assert np.abs(vectors - np.load(REFERENCE / "st_max128.npy")).max() <= 1e-5
    assert minilm_torch.max_tokens == 128 and minilm_torch.dimension == 384


def test_batches_equal_one_text_per_call_as_the_cluster_runs_them(minilm_torch):
    texts = TEXTS[:24]
    one_by_one = np.stack([minilm_torch.embed([t])[0] for t in texts])
    assert np.abs(minilm_torch.embed(texts, batch_size=8) - one_by_one).max() <= 1e-6


def test_local_embedder_picks_the_runtime_the_artifact_was_built_for(minilm_torch):
    torch_embedder = local_embedder("all-MiniLM-L6-v2", "1.0.1", model_format="TORCH_SCRIPT", progress_bar=False)
    onnx_embedder = local_embedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)
    try:
        assert isinstance(torch_embedder, LocalTorchScriptEmbedder) and isinstance(onnx_embedder, LocalOnnxEmbedder)
        texts = TEXTS[:8]
        assert np.abs(torch_embedder.embed(texts) - onnx_embedder.embed(texts)).max() <= 1e-5
    finally:
        torch_embedder.close()
        onnx_embedder.close()


def test_the_module_is_loaded_once_per_process_and_released_by_the_last_user(minilm_torch):
    artifact = minilm_torch.artifact
    before = loaded_artifacts.users("torchscript-module", artifact)
    second = LocalTorchScriptEmbedder(artifact)
    assert loaded_artifacts.users("torchscript-module", artifact) == before + 1
    lease = shared_script_model(artifact)
    assert lease.value is minilm_torch._session
    lease.release()
    second.close()
    assert loaded_artifacts.users("torchscript-module", artifact) == before


def test_an_onnx_artifact_is_refused_with_the_runtime_it_needs():
    onnx = resolve_artifact("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)
    with pytest.raises(ModelInputError, match="ONNX artifact; LocalTorchScriptEmbedder runs TORCH_SCRIPT"):
        LocalTorchScriptEmbedder(onnx)


def test_a_cross_encoder_graph_is_refused_as_an_embedder():
    with pytest.raises(ModelInputError, match="TEXT_SIMILARITY model; LocalTorchScriptEmbedder runs TEXT_EMBEDDING"):
        LocalTorchScriptEmbedder(TESTING / "tiny-cross-encoder" / "torch_script")


def test_without_torch_one_line_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # what an environment without the extra looks like
    with pytest.raises(MissingExtraError) as error:
        import_torch()
    assert str(error.value) == TORCH_MISSING and "\n" not in TORCH_MISSING
    assert "pip install 'opensearch-pretrained-haystack[torch]'" in TORCH_MISSING
    with pytest.raises(MissingExtraError):
        LocalTorchScriptEmbedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)


def test_the_torch_script_cross_encoder_gives_the_nodes_logits():
    from opensearch_pretrained_haystack.inference.torchscript_cross_encoder import LocalTorchScriptCrossEncoder

    folder = TESTING / "tiny-cross-encoder"
    pairs = [(p["query"], p["passage"]) for p in json.loads((folder / "pairs.json").read_text())]
    references = np.load(folder / "references.npz")
    encoder = LocalTorchScriptCrossEncoder(folder / "torch_script")
    try:
        logits = encoder.score_pairs(pairs, batch_size=8)
        assert np.abs(logits - references["node_torch_script"]).max() <= 1e-5
        assert np.abs(logits - np.array([encoder.score_pairs([p])[0] for p in pairs])).max() <= 1e-6
    finally:
        encoder.close()
