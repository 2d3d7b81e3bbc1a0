"""The two semantic highlighter components: the same documents out, with the same highlights (issue 20, items 2–3)."""

import json
import shutil
from dataclasses import replace

import pytest
from haystack import Document, Pipeline
from haystack.utils import Secret

from haystack_integrations.components.extractors.opensearch_pretrained import (
    LocalSemanticHighlighter,
    OpenSearchMLSemanticHighlighter,
)
from opensearch_pretrained_haystack.cluster import RetryPolicy, UnsupportedServerError
from opensearch_pretrained_haystack.errors import ModelInputError
from tests.conftest import TESTING
from tests.fault_proxy import FaultProxy
from tests.highlighting.fixture import HIGHLIGHTER_DIR, NODE_FAILS, deployed_highlighter, references, server_version

AUTH = (Secret.from_env_var("OS_USER"), Secret.from_env_var("OS_PASSWORD"))
QUESTION = "Where do the men play soccer?"


@pytest.fixture(scope="module")
def local() -> LocalSemanticHighlighter:
    highlighter = LocalSemanticHighlighter(model=str(HIGHLIGHTER_DIR))
    highlighter.warm_up()
    return highlighter


def documents() -> list[Document]:
    """One document per fixture pair (the empty context is a document without content)."""
    return [
        Document(id=pair["name"], content=pair["context"] or None, meta={"pair": pair["id"]}) for pair in references()
    ]


def test_local_documents_keep_their_order_and_gain_highlights(local: LocalSemanticHighlighter) -> None:
    given = documents()
    result = local.run(query=QUESTION, documents=given)
    out = result["documents"]
    assert [d.id for d in out] == [d.id for d in given] and all(
        d.meta["pair"] == g.meta["pair"] for d, g in zip(out, given, strict=True)
    )
    assert given[1].meta == {"pair": 1}  # the caller's documents are not modified
    assert result["meta"] == {
        "model": "test/tiny-semantic-highlighter",
        "documents_highlighted": 19,
        "documents_failed": 0,
        "documents_without_content": 1,
    }
    [empty] = [d for d in out if d.id == "empty-context"]
    assert empty == given[[d.id for d in given].index("empty-context")]  # unchanged
    paragraph = out[1].meta
    assert [h["position"] for h in paragraph["semantic_highlights"]] == [0, 1, 2, 3, 4]
    assert paragraph["semantic_highlight"] == out[1].content
    for document in out:
        for highlight in document.meta.get("semantic_highlights", []):
            assert (document.content or "")[highlight["start"] : highlight["end"]].strip() == highlight["text"]


def test_the_snippet_marks_skipped_sentences(local: LocalSemanticHighlighter) -> None:
    [decimals] = [d for d in documents() if d.id == "decimals"]
    highlighted = local.run(query=references()[19]["question"], documents=[decimals])["documents"][0].meta
    first, third = highlighted["semantic_highlights"]
    assert (first["position"], third["position"]) == (0, 2)
    assert highlighted["semantic_highlight"] == f"{first['text']} … {third['text']}"


async def test_run_async_agrees(local: LocalSemanticHighlighter) -> None:
    docs = documents()[:4]
    assert (await local.run_async(query=QUESTION, documents=docs)) == local.run(query=QUESTION, documents=docs)


def test_bad_input_is_one_clear_error(local: LocalSemanticHighlighter) -> None:
    with pytest.raises(ValueError, match="needs a non-empty query string"):
        local.run(query=" ", documents=[Document(content="x.")])
    with pytest.raises(TypeError, match="expects a list of Documents"):
        local.run(query="q", documents="text")  # type: ignore[arg-type]


def test_a_model_of_another_family_is_refused_naming_the_component(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        ModelInputError, match="is a SPARSE_ENCODING model; LocalSemanticHighlighter runs QUESTION_ANSWERING"
    ):
        LocalSemanticHighlighter(model=str(TESTING / "tiny-sparse-encoder")).warm_up()
    config = json.loads((HIGHLIGHTER_DIR / "config.json").read_text("utf-8"))
    config["model_config"]["model_type"] = "bert"  # extractive question answering, not sentence highlighting
    shutil.copy(HIGHLIGHTER_DIR / "tiny-semantic-highlighter-1.0.0-torch_script.zip", tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelInputError, match="model_type 'bert'; LocalSemanticHighlighter runs model_type"):
        LocalSemanticHighlighter(model=str(tmp_path), cache_dir=str(tmp_path / "cache")).warm_up()


def test_serialization_round_trips_and_keeps_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_PASSWORD", "hunter2")
    remote = OpenSearchMLSemanticHighlighter(hosts="http://localhost:9200", model_id="m", http_auth=AUTH, batch_size=4)
    assert remote._backend.predictor is None  # light __init__
    pipeline = Pipeline()
    pipeline.add_component("remote", remote)
    pipeline.add_component("local", LocalSemanticHighlighter(model="opensearch-semantic-highlighter-v1", workers=1))
    assert "hunter2" not in pipeline.dumps()
    restored = Pipeline.loads(pipeline.dumps())
    assert restored.get_component("remote").to_dict() == remote.to_dict()
    assert restored.get_component("remote").http_auth == AUTH
    assert restored.get_component("local").to_dict()["init_parameters"]["workers"] == 1
    remote.close()


@pytest.mark.integration
def test_the_cluster_and_local_give_the_same_documents_field_by_field(
    opensearch_url: str, local: LocalSemanticHighlighter
) -> None:
    if server_version(opensearch_url) < (3, 0, 0):
        with pytest.raises(UnsupportedServerError, match=r"needs OpenSearch 3\.0\.0 or newer"):
            deployed_highlighter(opensearch_url)
        return
    remote = OpenSearchMLSemanticHighlighter(hosts=opensearch_url, model_id=deployed_highlighter(opensearch_url))
    compared = 0
    for pair, document in zip(references(), documents(), strict=True):
        from_cluster = remote.run(query=pair["question"], documents=[document])
        from_local = local.run(query=pair["question"], documents=[document])
        if pair["name"] == "long-cjk-no-spaces":  # the node's HTTP 500: unchanged and counted; local answers
            assert from_cluster["documents"] == [document] and from_cluster["meta"]["documents_failed"] == 1
            assert from_local["documents"][0].meta["semantic_highlights"]
            continue
        assert from_cluster["documents"] == from_local["documents"], pair["name"]
        compared += 1
    assert compared == len(references()) - 1
    assert {name for name in NODE_FAILS if name != "long-cjk-no-spaces"} == {"empty-context", "whitespace-only-context"}
    remote.close()


@pytest.mark.integration
async def test_throttling_is_retried_and_run_async_agrees(opensearch_url: str, local: LocalSemanticHighlighter) -> None:
    if server_version(opensearch_url) < (3, 0, 0):
        return  # nothing to highlight with on 2.x: the deploy refusal is tested above
    model_id = deployed_highlighter(opensearch_url)
    docs = [replace(d, meta={}) for d in documents()[:6]]
    with FaultProxy(opensearch_url, failures=2, status=429, paths=("/_predict",)) as proxy:
        remote = OpenSearchMLSemanticHighlighter(hosts=proxy.url, model_id=model_id, max_concurrency=2, batch_size=2)
        remote._backend.get().retry = RetryPolicy(initial_backoff=0.05, max_attempts=5)
        result = await remote.run_async(query=QUESTION, documents=docs)
        await remote.close_async()
    assert proxy.injected == 2
    assert result["documents"] == local.run(query=QUESTION, documents=docs)["documents"]
    assert result["meta"]["documents_without_content"] == 0 and result["meta"]["documents_highlighted"] == 6
