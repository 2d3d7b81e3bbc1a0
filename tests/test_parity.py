import json
from pathlib import Path

import numpy as np
import pytest

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from opensearch_pretrained_haystack.cluster.remote_embedding import OpenSearchMLEmbedder
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from opensearch_pretrained_haystack.parity import verify_parity

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MIRROR = SHARED / "mirror"
REFERENCE_TEXTS = json.loads((SHARED / "reference" / "all-MiniLM-L6-v2-1.0.1" / "texts.json").read_text())


class Fixed:
    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.vectors[: len(texts)]


def test_report_measures_the_largest_difference_and_smallest_cosine():
    a = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    b = np.array([[1.0, 0.0], [0.0, 0.5]], dtype=np.float32)
    report = verify_parity(Fixed(a), Fixed(b), ["x", "y"])
    assert report.n_texts == 2 and report.max_abs_diff == pytest.approx(0.5) and report.worst_text == "y"
    assert report.min_cosine == pytest.approx(1.0)
    assert not report.passed()


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="not the same model"):
        verify_parity(Fixed(np.zeros((2, 3))), Fixed(np.zeros((2, 4))), ["x", "y"])


@pytest.fixture(scope="module")
def local_minilm() -> LocalOnnxEmbedder:
    return LocalOnnxEmbedder("all-MiniLM-L6-v2", "1.0.1", mirror=MIRROR)


@pytest.mark.integration
@pytest.mark.parametrize("model_format", ["ONNX", "TORCH_SCRIPT"])
def test_cluster_model_matches_local_onnx_on_the_reference_texts(opensearch_url, local_minilm, model_format):
    """Uploaded from ../shared/mirror (source="client"); 291 texts incl. >128 tokens, non-ASCII and empty."""
    uploaded = PretrainedModelUploader(
        opensearch_url, "all-MiniLM-L6-v2", "1.0.1", model_format=model_format, source="client", mirror=str(MIRROR)
    ).run()
    assert uploaded["model"]["format"] == model_format and uploaded["model"]["state"] == "DEPLOYED"
    long_texts = [t for t in REFERENCE_TEXTS if local_minilm.count_tokens(t) >= 128]
    assert len(REFERENCE_TEXTS) >= 200 and long_texts and any(not t.isascii() for t in REFERENCE_TEXTS)
    remote = OpenSearchMLEmbedder(opensearch_url, uploaded["model_id"], batch_size=32)
    report = verify_parity(local_minilm, remote, REFERENCE_TEXTS)
    assert report.n_texts == len(REFERENCE_TEXTS)
    assert report.max_abs_diff <= 1e-5, report
    assert report.min_cosine >= 1 - 1e-6
    remote.close()
