import asyncio
import logging

import numpy as np
import pytest
from haystack import Document, Pipeline

from haystack_integrations.components.embedders.opensearch_pretrained import (
    LocalOnnxDocumentEmbedder,
    LocalOnnxTextEmbedder,
)
from opensearch_pretrained_haystack.artifacts import loaded_artifacts
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from tests.conftest import TESTING

TINY = str(TESTING / "tiny-bert-mean")


@pytest.fixture(scope="module")
def engine() -> LocalOnnxEmbedder:
    return LocalOnnxEmbedder(TINY)


def test_init_is_light_and_warm_up_is_idempotent(monkeypatch):
    embedder = LocalOnnxTextEmbedder(model="no-such-model-is-ever-loaded-in-init")
    assert embedder._backend.runner is None
    good = LocalOnnxTextEmbedder(model=TINY)
    good.warm_up()
    first = good._backend.runner
    good.warm_up()
    assert good._backend.runner is first


def test_text_and_document_embedders_share_one_loaded_model():
    text, docs = LocalOnnxTextEmbedder(model=TINY), LocalOnnxDocumentEmbedder(model=TINY, progress_bar=False)
    text.warm_up()
    docs.warm_up()
    assert text._backend.runner._session is docs._backend.runner._session
    assert text._backend.runner.tokenizer is docs._backend.runner.tokenizer


def test_close_stops_the_workers_and_the_last_close_releases_the_shared_model():
    text, docs = LocalOnnxTextEmbedder(model=TINY), LocalOnnxDocumentEmbedder(model=TINY, progress_bar=False)
    text.run("warm")
    docs.run([Document(content="warm")])
    artifact = text._backend.runner.artifact
    executor = text._backend.runner._executor
    held = loaded_artifacts.users("onnx-session", artifact, ("CPUExecutionProvider",))
    text.close()
    assert executor._shutdown
    assert loaded_artifacts.users("onnx-session", artifact, ("CPUExecutionProvider",)) == held - 1
    docs.close()
    assert loaded_artifacts.users("onnx-session", artifact, ("CPUExecutionProvider",)) == held - 2
    assert len(text.run("again")["embedding"]) == 32  # warms up again
    text.close()


def test_close_lets_go_and_run_warms_up_again():
    embedder = LocalOnnxTextEmbedder(model=TINY)
    embedder.close()  # safe without warm_up
    embedder.warm_up()
    embedder.close()
    assert embedder._backend.runner is None
    assert len(embedder.run("again")["embedding"]) == 32


def test_text_embedder_applies_prefix_and_suffix(engine):
    result = LocalOnnxTextEmbedder(model=TINY, prefix="query: ", suffix=" !").run(text="hello")
    np.testing.assert_allclose(result["embedding"], engine.embed(["query: hello !"])[0], atol=1e-6)
    assert result["meta"] == {"model": "test/tiny-bert-mean", "version": "1.0.0"}


def test_text_embedder_refuses_documents_and_names_the_sibling():
    with pytest.raises(TypeError, match="LocalOnnxDocumentEmbedder"):
        LocalOnnxTextEmbedder(model=TINY).run(text=[Document(content="x")])  # type: ignore[arg-type]


def test_document_embedder_refuses_a_string_and_names_the_sibling():
    with pytest.raises(TypeError, match="LocalOnnxTextEmbedder"):
        LocalOnnxDocumentEmbedder(model=TINY).run(documents="text")  # type: ignore[arg-type]


def test_document_text_is_meta_fields_then_content_joined_by_the_separator(engine):
    embedder = LocalOnnxDocumentEmbedder(
        model=TINY,
        prefix="p ",
        suffix=" s",
        meta_fields_to_embed=["title", "missing", "none"],
        embedding_separator=" | ",
    )
    doc = Document(content="body", meta={"title": "Title", "none": None})
    (embedded,) = embedder.run(documents=[doc])["documents"]
    np.testing.assert_allclose(embedded.embedding, engine.embed(["p Title | body s"])[0], atol=1e-6)


def test_documents_come_back_as_new_objects_in_order_and_the_inputs_are_untouched(engine):
    docs = [Document(content=f"document number {i} " * (i % 7 + 1)) for i in range(40)]
    result = LocalOnnxDocumentEmbedder(model=TINY, batch_size=6, progress_bar=False).run(documents=docs)
    assert [d.id for d in result["documents"]] == [d.id for d in docs]
    assert all(d.embedding is None for d in docs)
    assert all(out is not doc for out, doc in zip(result["documents"], docs, strict=True))
    expected = engine.embed([d.content for d in docs])
    np.testing.assert_allclose([d.embedding for d in result["documents"]], expected, atol=1e-6)


def test_documents_without_content_are_returned_counted_and_warned_about_once(caplog):
    docs = [Document(content="a"), Document(content=None), Document(content=""), Document(content="  ")]
    with caplog.at_level(logging.WARNING):
        result = LocalOnnxDocumentEmbedder(model=TINY, progress_bar=False).run(documents=docs)
    out = result["documents"]
    assert len(out) == 4
    assert out[1] is docs[1] and out[2] is docs[2] and out[1].embedding is None
    assert out[3].embedding is not None  # whitespace is content: the cluster embeds it too
    assert result["meta"]["documents_embedded"] == 2 and result["meta"]["documents_without_content"] == 2
    assert len([r for r in caplog.records if "no content" in r.message]) == 1


def test_empty_list_gives_empty_list():
    assert LocalOnnxDocumentEmbedder(model=TINY).run(documents=[])["documents"] == []


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size"):
        LocalOnnxDocumentEmbedder(batch_size=0)


def test_run_async_gives_the_same_result_as_run():
    text = LocalOnnxTextEmbedder(model=TINY)
    docs = LocalOnnxDocumentEmbedder(model=TINY, progress_bar=False)
    assert asyncio.run(text.run_async(text="x")) == text.run(text="x")
    document = [Document(content="x")]
    assert asyncio.run(docs.run_async(documents=document))["documents"] == docs.run(documents=document)["documents"]


def test_to_dict_and_from_dict_round_trip():
    embedder = LocalOnnxDocumentEmbedder(
        model="all-MiniLM-L6-v2", version="1.0.1", batch_size=8, meta_fields_to_embed=["title"], prefix="passage: "
    )
    data = embedder.to_dict()
    assert data == {
        "type": "haystack_integrations.components.embedders.opensearch_pretrained."
        "local_onnx_document_embedder.LocalOnnxDocumentEmbedder",
        "init_parameters": {
            "model": "all-MiniLM-L6-v2",
            "version": "1.0.1",
            "mirror": None,
            "cache_dir": None,
            "prefix": "passage: ",
            "suffix": "",
            "batch_size": 8,
            "progress_bar": True,
            "meta_fields_to_embed": ["title"],
            "embedding_separator": "\n",
            "providers": None,
            "concurrent_runs": None,
        },
    }
    assert LocalOnnxDocumentEmbedder.from_dict(data).to_dict() == data


def test_pipeline_round_trips_through_yaml_with_haystacks_default_loader():
    pipeline = Pipeline()
    pipeline.add_component("text", LocalOnnxTextEmbedder(model=TINY))
    pipeline.add_component("docs", LocalOnnxDocumentEmbedder(model=TINY, progress_bar=False))
    loaded = Pipeline.loads(pipeline.dumps())  # no allowed_modules, no unsafe=True
    assert loaded.dumps() == pipeline.dumps()
    result = loaded.run({"text": {"text": "hi"}, "docs": {"documents": [Document(content="hi")]}})
    assert result["text"]["embedding"] == pytest.approx(result["docs"]["documents"][0].embedding, abs=1e-6)
