"""LocalTorchScriptTextEmbedder and LocalTorchScriptDocumentEmbedder on the mirror's TorchScript MiniLM: the same
vectors as the ONNX components, the runtime named by the class, and Haystack's lifecycle and serialization."""

import asyncio

import numpy as np
import pytest
from haystack import Document, Pipeline

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalOnnxDocumentEmbedder,
    LocalOnnxTextEmbedder,
    LocalTorchScriptDocumentEmbedder,
    LocalTorchScriptTextEmbedder,
)
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference.torchscript_embedder import LocalTorchScriptEmbedder
from tests.conftest import MIRROR, TESTING

MINILM = {"model": "all-MiniLM-L6-v2", "version": "1.0.1"}
TEXTS = ["OpenSearch is a search engine.", "", "Bananas are yellow.", "Was kostet das Frühstück?"]


@pytest.fixture(scope="module")
def text_embedder():
    component = LocalTorchScriptTextEmbedder(**MINILM, prefix="q: ", progress_bar=False)
    yield component
    component.close()


def test_query_and_documents_embed_like_the_onnx_components(text_embedder):
    onnx_text = LocalOnnxTextEmbedder(**MINILM, prefix="q: ", progress_bar=False)
    torch_docs = LocalTorchScriptDocumentEmbedder(**MINILM, progress_bar=False)
    onnx_docs = LocalOnnxDocumentEmbedder(**MINILM, progress_bar=False)
    try:
        for text in TEXTS:
            ours = text_embedder.run(text=text)
            assert ours["meta"] == {"model": "huggingface/sentence-transformers/all-MiniLM-L6-v2", "version": "1.0.1"}
            assert np.abs(np.array(ours["embedding"]) - onnx_text.run(text=text)["embedding"]).max() <= 1e-5
        documents = [Document(content=text) for text in TEXTS]
        ours_docs = torch_docs.run(documents=documents)
        theirs = onnx_docs.run(documents=documents)
        assert ours_docs["meta"]["documents_without_content"] == 1 and ours_docs["documents"][1].embedding is None
        for mine, other in zip(ours_docs["documents"], theirs["documents"], strict=True):
            if other.embedding is not None:
                assert np.abs(np.array(mine.embedding) - other.embedding).max() <= 1e-5
        assert isinstance(torch_docs._backend.runner, LocalTorchScriptEmbedder)
        # text and document embedders share one loaded module
        assert torch_docs._backend.runner._session is text_embedder._backend.warm_up()._session
    finally:
        for component in (onnx_text, torch_docs, onnx_docs):
            component.close()


def test_an_onnx_only_directory_is_refused_by_the_torch_script_component():
    component = LocalTorchScriptTextEmbedder(model=str(TESTING / "tiny-bert-mean"))
    with pytest.raises(ModelInputError, match="ONNX artifact; LocalTorchScriptEmbedder runs TORCH_SCRIPT"):
        component.warm_up()


def test_run_async_equals_run_and_the_sibling_is_named(text_embedder):
    assert asyncio.run(text_embedder.run_async(text="hello")) == text_embedder.run(text="hello")
    with pytest.raises(TypeError, match="LocalTorchScriptDocumentEmbedder"):
        text_embedder.run(text=["not", "a", "string"])  # type: ignore[arg-type]


def test_yaml_round_trip_with_haystacks_default_loader():
    pipeline = Pipeline()
    pipeline.add_component("docs", LocalTorchScriptDocumentEmbedder(**MINILM, mirror=str(MIRROR), batch_size=4))
    loaded = Pipeline.loads(pipeline.dumps())
    component = loaded.get_component("docs")
    assert isinstance(component, LocalTorchScriptDocumentEmbedder) and component._backend.runner is None
    assert component.to_dict() == pipeline.get_component("docs").to_dict()
    assert component.to_dict()["init_parameters"]["batch_size"] == 4
