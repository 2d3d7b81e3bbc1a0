"""Every architecture of the catalog, local ≡ reference: each tiny test model (RoBERTa BPE, MPNet, BERT weights with
an XLM-R Unigram tokenizer, BERT, DistilBERT) embeds ../shared/testing/texts.json like torch and like a 2.19.1 node."""

import json

import numpy as np
import pytest

from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from tests.conftest import TESTING

TEXTS = json.loads((TESTING / "texts.json").read_text())
SHARED_REFERENCES = np.load(TESTING / "references.npz")
# (folder, reference keys): the newer models carry their own references.npz (torch and what the node returned);
# the first two share the folder-level file, keyed by model and pooling mode.
MODELS = {
    "tiny-roberta-mean": ("torch", "node"),
    "tiny-mpnet-cls": ("torch", "node"),
    "tiny-xlmr-bert-mean": ("torch", "node"),
    "tiny-bert-mean": ("tiny-bert-mean/MEAN_normalized",),
    "tiny-distilbert-cls": ("tiny-distilbert-cls/CLS",),
}


def references(model: str) -> dict[str, np.ndarray]:
    own = TESTING / model / "references.npz"
    source = np.load(own) if own.exists() else SHARED_REFERENCES
    return {("torch" if "/" in key else key): source[key] for key in MODELS[model]}


def max_relative_diff(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest |diff| per text over that text's vector norm (1 for normalized models: the plain |diff|)."""
    norms = np.maximum(np.linalg.norm(expected, axis=1), 1.0)
    return float((np.abs(actual.astype(np.float64) - expected).max(axis=1) / norms).max())


@pytest.fixture(scope="module", params=list(MODELS))
def model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, LocalOnnxEmbedder]:
    folder = TESTING / request.param
    return request.param, LocalOnnxEmbedder(str(folder), cache_dir=tmp_path_factory.mktemp(request.param))


@pytest.mark.parametrize("batch_size", [1, 32])
def test_local_onnx_matches_every_reference_of_each_architecture(model, batch_size):
    name, embedder = model
    vectors = embedder.embed(TEXTS, batch_size=batch_size)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), embedder.dimension)
    for key, expected in references(name).items():
        diff = max_relative_diff(vectors, expected)
        print(f"{name} batch {batch_size} vs {key}: {diff:.1e}")
        assert diff <= 1e-5, (name, key, diff)


def test_the_unnormalized_models_are_measured_relative_to_their_norm():
    """The relative bar matters only where it should: MPNet CLS vectors are far from unit length."""
    norms = np.linalg.norm(references("tiny-mpnet-cls")["torch"], axis=1)
    assert norms.min() > 2.0
    np.testing.assert_allclose(np.linalg.norm(references("tiny-roberta-mean")["torch"], axis=1), 1.0, rtol=1e-5)
