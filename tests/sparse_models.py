"""The two tiny sparse test models, deployed on the test node through the package's own uploader."""

from functools import cache

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from tests.conftest import TESTING

SPARSE_ENCODER_DIR = TESTING / "tiny-sparse-encoder"
SPARSE_TOKENIZER_DIR = TESTING / "tiny-sparse-tokenizer"


@cache
def deployed_sparse_model(opensearch_url: str, kind: str) -> str:
    """Model id of tiny-sparse-`kind` ("encoder" or "tokenizer"), uploaded from this machine (reused if there)."""
    folder = TESTING / f"tiny-sparse-{kind}"
    uploader = PretrainedModelUploader(opensearch_url, str(folder), source="client", model_format="TORCH_SCRIPT")
    return str(uploader.run()["model_id"])
