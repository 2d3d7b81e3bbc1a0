"""Every example runs as a user would run it: offline with the embedded store, and against the test node."""

from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from tests.conftest import MIRROR
from tests.highlighting.fixture import HIGHLIGHTER_DIR

VERSION = ["--model-version", "1.0.1"]


def test_offline_indexing_query_and_rag_prompt(examples, capsys):
    assert examples("indexing_pipeline").main(VERSION) >= 4
    assert Path("example-store.sqlite").is_file()

    top = examples("query_pipeline").main(["how do I cook risotto?", *VERSION])
    assert top[0].meta["file_path"].endswith("cooking.txt")

    question = "How long does the token limit let a text be?"
    result = examples("rag_prototype").main([question, "--highlight", str(HIGHLIGHTER_DIR), *VERSION])
    assert "generator" not in result
    prompt = result["prompt_builder"]["prompt"][0].text
    assert "Question: How long does the token limit let a text be?" in prompt
    assert "truncates its input at 128 tokens" in prompt  # the best retrieved passage is in the prompt
    assert prompt.count("\n[") == 3
    printed = capsys.readouterr().out
    assert prompt in printed
    evidence = [s["text"] for d in result["highlighter"]["documents"] for s in d.meta["semantic_highlights"]]
    assert evidence and all(f"]: {' '.join(text.split())}" in printed for text in evidence)
    without = examples("rag_prototype").main([question, "--highlight", "", *VERSION])
    assert "highlighter" not in without and without["prompt_builder"]["prompt"][0].text == prompt


def test_rag_prototype_takes_a_generator_class(examples):
    rag = examples("rag_prototype")
    assert rag.load_generator(None) is None
    generator = rag.load_generator("haystack.components.generators.chat.openai.OpenAIChatGenerator")
    assert type(generator).__name__ == "OpenAIChatGenerator"


@pytest.mark.integration
def test_indexing_and_query_examples_on_opensearch(examples, opensearch_url, index_name):
    cluster = ["--opensearch", opensearch_url, "--index", index_name, *VERSION]
    assert examples("indexing_pipeline").main(cluster) >= 4
    top = examples("query_pipeline").main(["vector search in a cluster", *cluster])
    assert top[0].meta["file_path"].endswith("opensearch.md")


@pytest.mark.integration
def test_batch_indexing_job_with_the_remote_embedder(examples, opensearch_url, index_name, capsys):
    cluster = ["--opensearch", opensearch_url, "--index", index_name, "--mirror", str(MIRROR), *VERSION]
    assert examples("batch_indexing_remote").main(cluster) == 0
    first = capsys.readouterr().out
    assert f"--remote {first.split(' is deployed as ')[1].split()[0]}" in first and "failed: 0" in first
    assert examples("batch_indexing_remote").main(cluster) == 0  # a re-run skips what is stored
    assert "passages written: 0" in capsys.readouterr().out


@pytest.mark.integration
def test_neural_search_example_embeds_in_the_cluster(examples, opensearch_url, index_name):
    cluster = ["--opensearch", opensearch_url, "--index", index_name, "--mirror", str(MIRROR), *VERSION]
    try:
        top = examples("neural_search").main(["how do I cook risotto?", *cluster])
    finally:
        OpenSearch(hosts=opensearch_url).ingest.delete_pipeline(id=f"{index_name}-embedding", ignore=[404])
    assert top[0].meta["file_path"].endswith("cooking.txt") and top[0].score > top[1].score
