"""Issue 8 §3/§5: one artifact, loaded once per process and shared; CPUs counted portably."""

import json
import os

import onnxruntime
import pytest
from tokenizers import Tokenizer

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.app.batch import Target, index_sources
from opensearch_pretrained_haystack.artifacts import LoadedArtifacts
from opensearch_pretrained_haystack.inference import available_cpus, onnx_session, tokenizer


@pytest.fixture
def counted(monkeypatch):
    """A fresh cache of loaded artifacts, and counters of tokenizer parses and ONNX sessions created."""
    counts = {"tokenizers": 0, "sessions": 0}
    fresh = LoadedArtifacts()
    monkeypatch.setattr(tokenizer, "loaded_artifacts", fresh)
    monkeypatch.setattr(onnx_session, "loaded_artifacts", fresh)

    class CountingTokenizer:
        @staticmethod
        def from_str(text: str) -> Tokenizer:
            counts["tokenizers"] += 1
            return Tokenizer.from_str(text)

    class CountingSession(onnxruntime.InferenceSession):
        def __init__(self, *args, **kwargs):
            counts["sessions"] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tokenizer, "Tokenizer", CountingTokenizer)
    monkeypatch.setattr(onnxruntime, "InferenceSession", CountingSession)
    return counts


def test_one_index_run_loads_the_model_artifact_once(tmp_path, counted):
    source = tmp_path / "docs.jsonl"
    long_text = " ".join(f"Sentence {i} is about the search engine OpenSearch." for i in range(80))
    source.write_text("".join(json.dumps({"id": f"d{i}", "content": long_text}) + "\n" for i in range(3)))
    summary = index_sources(
        [source],
        Target(store_path=tmp_path / "store.jsonl"),
        catalog.get_model("all-MiniLM-L6-v2", "1.0.1"),
        progress_bar=False,
    )
    assert summary.passages_written > 3  # split by the tokenizer, then embedded: both components ran
    assert counted == {"tokenizers": 1, "sessions": 1}


def test_available_cpus_without_sched_getaffinity(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    expected = (getattr(os, "process_cpu_count", None) or os.cpu_count)()
    assert available_cpus() == expected
