"""The query pipelines (dense, BM25, hybrid, rerank) and the RAG prototype served by a real Hayhooks server over the
embedded store: each REST answer holds the documents the same pipeline returns in-process."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.app import serving
from tests.conftest import TESTING

SERVED = Path(__file__).resolve().parents[2] / "examples" / "hayhooks"
QUESTION = "How long does the token limit let a text be?"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post(url: str, body: dict[str, str]) -> object:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["result"]


@pytest.fixture
def hayhooks(examples, tmp_path, monkeypatch):
    """A Hayhooks server on a free local port serving examples/hayhooks over the example store; its base URL."""
    examples("indexing_pipeline").main(["--model-version", "1.0.1"])
    monkeypatch.setenv("OPENSEARCH_PRETRAINED_STORE", str(tmp_path / "example-store.sqlite"))
    monkeypatch.setenv("OPENSEARCH_PRETRAINED_RERANKER", str(TESTING / "tiny-cross-encoder" / "onnx"))
    monkeypatch.setenv("HAYHOOKS_DISABLE_SSL", "true")
    port = _free_port()
    log = (tmp_path / "hayhooks.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("hayhooks")), "run", "--host", "127.0.0.1", "--port", str(port),
         "--pipelines-dir", str(SERVED)],
        stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "hayhooks.log").read_text()
            try:
                with urllib.request.urlopen(f"{base}/status", timeout=5) as response:
                    if {"search", "rag"} <= set(json.loads(response.read())["pipelines"]):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "hayhooks.log").read_text()
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_query_and_rag_pipelines_served_by_hayhooks_answer_as_in_process(hayhooks):
    for mode in ("dense", "bm25", "hybrid", "rerank"):
        served = _post(f"{hayhooks}/search/run", {"query": QUESTION, "mode": mode})
        in_process = serving.as_json(serving.run(serving.search_pipeline(mode), QUESTION)["collapser"]["documents"])
        assert served == json.loads(json.dumps(in_process)), mode
        assert len(served) >= 3, mode

    answer = _post(f"{hayhooks}/rag/run", {"question": QUESTION})
    pipeline = serving.rag_pipeline(serving.search_pipeline("hybrid"), None)
    expected = serving.run(pipeline, QUESTION, {"prompt_builder": {"question": QUESTION}})
    assert answer["documents"] == json.loads(json.dumps(serving.as_json(expected["collapser"]["documents"])))
    assert answer["prompt"] == expected["prompt_builder"]["prompt"][0].text
    assert "truncates its input at 128 tokens" in answer["prompt"] and answer["answers"] == []
