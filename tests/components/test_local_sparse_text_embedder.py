"""LocalSparseTextEmbedder: the node's sparse query maps as Haystack SparseEmbeddings (issue 11, item 3)."""

import asyncio
import json
from typing import Any

import pytest
from haystack import Pipeline
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.components.embedders.opensearch_pretrained import LocalSparseTextEmbedder
from tests.conftest import TESTING

TOKENIZER_DIR = str(TESTING / "tiny-sparse-tokenizer")
REFERENCES: dict[str, Any] = json.loads((TESTING / "tiny-sparse-tokenizer" / "references.json").read_text("utf-8"))


def test_every_shared_text_gives_the_nodes_map_as_a_sparse_embedding() -> None:
    embedder = LocalSparseTextEmbedder(model=TOKENIZER_DIR)
    for text, node in zip(REFERENCES["texts"], REFERENCES["node"], strict=True):
        embedding = embedder.run(text=text)["sparse_embedding"]
        assert isinstance(embedding, SparseEmbedding)
        weights = embedder.to_token_weights(embedding)
        assert weights.keys() == node.keys()
        assert all(abs(weights[k] - node[k]) <= 1e-6 for k in weights)


def test_init_is_light_and_warm_up_is_idempotent_and_shared() -> None:
    first = LocalSparseTextEmbedder(model=TOKENIZER_DIR)
    assert first._backend.runner is None
    first.warm_up()
    loaded = first._backend.runner
    first.warm_up()
    second = LocalSparseTextEmbedder(model=TOKENIZER_DIR, progress_bar=False, prefix="q: ")
    second.warm_up()
    assert first._backend.runner is loaded is second._backend.runner
    first.close()
    assert first._backend.runner is None


def test_run_async_equals_run() -> None:
    embedder = LocalSparseTextEmbedder(model=TOKENIZER_DIR)
    assert asyncio.run(embedder.run_async(text="Hello world.")) == embedder.run(text="Hello world.")


def test_wrong_input_names_the_document_sibling() -> None:
    with pytest.raises(TypeError, match="LocalSparseDocumentEmbedder"):
        LocalSparseTextEmbedder(model=TOKENIZER_DIR).run(text=["not", "a", "string"])  # type: ignore[arg-type]


def test_yaml_round_trip_with_haystacks_default_loader() -> None:
    pipeline = Pipeline()
    pipeline.add_component("query", LocalSparseTextEmbedder(model=TOKENIZER_DIR, prefix="q: ", progress_bar=False))
    loaded = Pipeline.loads(pipeline.dumps())
    component = loaded.get_component("query")
    assert isinstance(component, LocalSparseTextEmbedder)
    assert component.to_dict() == pipeline.get_component("query").to_dict()
    assert component.to_dict()["init_parameters"] == {
        "model": TOKENIZER_DIR,
        "version": None,
        "mirror": None,
        "cache_dir": None,
        "prefix": "q: ",
        "suffix": "",
        "progress_bar": False,
        "concurrent_runs": None,
    }


def test_one_tokenizer_per_artifact_content_however_it_is_named_and_the_last_close_frees_it() -> None:
    from opensearch_pretrained_haystack.artifacts import loaded_artifacts
    from opensearch_pretrained_haystack.inference.sparse_tokenizer import resolve_sparse_artifact

    artifact = resolve_sparse_artifact(TOKENIZER_DIR)
    before = loaded_artifacts.users("sparse-tokenizer", artifact)
    first = LocalSparseTextEmbedder(model=TOKENIZER_DIR)
    second = LocalSparseTextEmbedder(model=TOKENIZER_DIR + "/")  # another spelling of the same artifact
    first.warm_up()
    second.warm_up()
    assert first._backend.runner is second._backend.runner
    assert loaded_artifacts.users("sparse-tokenizer", artifact) == before + 2
    first.close()
    second.close()
    assert loaded_artifacts.users("sparse-tokenizer", artifact) == before
