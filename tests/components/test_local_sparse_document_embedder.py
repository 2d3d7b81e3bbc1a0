"""LocalSparseDocumentEmbedder, and LocalSparseTextEmbedder with a bi-encoder: the node's maps of the tiny sparse
encoder, as Haystack SparseEmbeddings."""

import asyncio
import json

import pytest
from haystack import Document, Pipeline

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalSparseDocumentEmbedder,
    LocalSparseTextEmbedder,
)
from opensearch_pretrained_haystack.artifacts import loaded_artifacts
from tests.conftest import TESTING

ENCODER_DIR = str(TESTING / "tiny-sparse-encoder")
REFERENCES = json.loads((TESTING / "tiny-sparse-encoder" / "references.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def embedder():
    component = LocalSparseDocumentEmbedder(model=ENCODER_DIR, progress_bar=False)
    yield component
    component.close()


def _assert_equal_maps(ours: dict[str, float], node: dict[str, float]) -> None:
    assert ours.keys() == node.keys()
    assert all(abs(ours[token] - node[token]) <= 1e-5 for token in node)


def test_documents_get_the_nodes_maps_and_content_less_ones_are_kept(embedder):
    texts = [text for text in REFERENCES["texts"] if text]  # "" has no content: returned unchanged, counted
    documents = [Document(content=""), *(Document(content=text) for text in texts)]
    result = embedder.run(documents=documents)
    assert result["meta"]["documents_embedded"] == len(texts) and result["meta"]["documents_without_content"] == 1
    assert result["documents"][0] is documents[0] and result["documents"][0].sparse_embedding is None
    node = dict(zip(REFERENCES["texts"], REFERENCES["node"], strict=True))
    for document in result["documents"][1:]:
        _assert_equal_maps(embedder.to_token_weights(document.sparse_embedding), node[document.content])
    assert all(d.sparse_embedding is None for d in documents)  # the caller's documents are not modified


def test_bi_encoder_queries_are_encoded_by_the_model(embedder):
    query = LocalSparseTextEmbedder(model=ENCODER_DIR)
    artifact = embedder._backend.warm_up().artifact
    before = loaded_artifacts.users("torchscript-module", artifact)
    try:
        for text, node in list(zip(REFERENCES["texts"], REFERENCES["node"], strict=True))[:12]:
            _assert_equal_maps(query.to_token_weights(query.run(text=text)["sparse_embedding"]), node)
        # one TorchScript module for both components: the query embedder took a share of the loaded one
        assert loaded_artifacts.users("torchscript-module", artifact) == before + 1
    finally:
        query.close()


def test_meta_fields_and_prefix_make_the_text_encoded(embedder):
    document = Document(content="guitar", meta={"title": "A man"})
    component = LocalSparseDocumentEmbedder(
        model=ENCODER_DIR, meta_fields_to_embed=["title"], embedding_separator=" is playing a ", progress_bar=False
    )
    try:
        (encoded,) = component.run(documents=[document])["documents"]
        (expected,) = embedder.run(documents=[Document(content="A man is playing a guitar")])["documents"]
        assert encoded.sparse_embedding == expected.sparse_embedding
    finally:
        component.close()


def test_run_async_equals_run(embedder):
    documents = [Document(content="Hello world.")]
    assert asyncio.run(embedder.run_async(documents=documents)) == embedder.run(documents=documents)


def test_yaml_round_trip_with_haystacks_default_loader():
    pipeline = Pipeline()
    pipeline.add_component("docs", LocalSparseDocumentEmbedder(model=ENCODER_DIR, batch_size=4, progress_bar=False))
    loaded = Pipeline.loads(pipeline.dumps())
    component = loaded.get_component("docs")
    assert isinstance(component, LocalSparseDocumentEmbedder)
    assert component.to_dict() == pipeline.get_component("docs").to_dict()
    assert component._backend.runner is None  # loading a pipeline loads no model


def test_a_string_input_names_the_text_sibling(embedder):
    with pytest.raises(TypeError, match="LocalSparseTextEmbedder"):
        embedder.run(documents="not documents")  # type: ignore[arg-type]
