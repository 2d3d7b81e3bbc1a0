"""The sync and async clients against the real node."""

from pathlib import Path

import numpy as np
import pytest
from opensearchpy import AsyncOpenSearch, OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from opensearch_pretrained_haystack.cluster import MLCommonsClient, ModelNotFoundError, TaskFailedError
from opensearch_pretrained_haystack.cluster import operations as ops
from opensearch_pretrained_haystack.cluster.protocol import run_async

TINY = Path(__file__).resolve().parents[2].parent / "shared" / "testing" / "tiny-bert-mean"


@pytest.mark.integration
async def test_sync_and_async_clients_agree(opensearch_url: str):
    model_id = PretrainedModelUploader(opensearch_url, str(TINY), source="client").run()["model_id"]
    sync = MLCommonsClient(OpenSearch(opensearch_url))
    async_client = AsyncOpenSearch(opensearch_url)
    try:
        transport = async_client.transport
        assert (await run_async(transport, ops.server_profile())) == sync.server_profile()
        model = await run_async(transport, ops.get_model(model_id))
        assert model["model_state"] == "DEPLOYED" and model == sync.get_model(model_id)
        texts = ["hello", "wörld"]
        vectors = await run_async(transport, ops.predict(model_id, texts))
        np.testing.assert_array_equal(vectors, sync.predict(model_id, texts))
    finally:
        await async_client.close()


@pytest.mark.integration
def test_failed_register_task_carries_the_servers_message(opensearch_url: str):
    client = MLCommonsClient(OpenSearch(opensearch_url))
    with pytest.raises(TaskFailedError) as raised:
        client.register_pretrained("huggingface/sentence-transformers/not-a-model", "1.0.1", "ONNX", timeout=120)
    assert raised.value.reason and raised.value.reason == raised.value.task["error"]
    assert raised.value.reason in str(raised.value)


@pytest.mark.integration
def test_unknown_model_is_a_typed_error(opensearch_url: str):
    with pytest.raises(ModelNotFoundError):
        MLCommonsClient(OpenSearch(opensearch_url)).get_model("no-such-model-id")
