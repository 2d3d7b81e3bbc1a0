"""
Documents/s of OpenSearchMLDocumentEmbedder on a real node, beside a bare predict loop and the local embedder.

    python benchmarks/remote_embedding.py [--url http://127.0.0.1:9200] [--repeat 2] [--rounds 2]

Without --url (or $OPENSEARCH_URL) the test node is started (and stopped again if this script started it).
all-MiniLM-L6-v2 1.0.1 ONNX is deployed from ../shared/mirror with PretrainedModelUploader (source="client").
For each concurrency 1, 2, 4, rounds interleave:
- ``bare``: a thread pool of `concurrency` workers posting `_predict` for batches of 32 with opensearch-py's
  `perform_request` (no retries, no text preparation, no Documents);
- ``component``: OpenSearchMLDocumentEmbedder(batch_size=32, max_concurrency=concurrency).run(documents);
and the median round is reported, with this process's CPU time per document (the client's own cost,
which a busy machine does not blur as it blurs wall-clock rates). ``local`` is LocalOnnxEmbedder (batch 32) on
the same texts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from haystack import Document
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from haystack_integrations.components.embedders.opensearch_pretrained.opensearch_ml_document_embedder import (
    OpenSearchMLDocumentEmbedder,
)
from opensearch_pretrained_haystack.cluster.operations import predict_body
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from opensearch_pretrained_haystack.node import TestNode

SHARED = Path(__file__).resolve().parents[2] / "shared"
MIRROR = SHARED / "mirror"
TEXTS = SHARED / "reference" / "all-MiniLM-L6-v2-1.0.1" / "texts.json"
BATCH = 32


def bare_loop(url: str, model_id: str, texts: list[str], concurrency: int) -> None:
    """The least a client can do: one predict call per batch, `concurrency` at a time."""
    client = OpenSearch(url, timeout=120, pool_maxsize=max(10, concurrency), max_retries=0)
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]

    def post(batch: list[str]) -> None:
        client.transport.perform_request(
            "POST", f"/_plugins/_ml/_predict/text_embedding/{model_id}", body=predict_body(batch)
        )

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, batches))
    client.close()


def component_run(url: str, model_id: str, texts: list[str], concurrency: int) -> None:
    """
    Embed ``texts`` with the cluster document embedder component.

    :param url: The cluster's URL.
    :param model_id: The deployed model.
    :param texts: The texts, one document each.
    :param concurrency: The component's ``max_concurrency``.
    """
    embedder = OpenSearchMLDocumentEmbedder(
        url, model_id, batch_size=BATCH, max_concurrency=concurrency, progress_bar=False, raise_on_failure=True
    )
    embedder.run(documents=[Document(content=text) for text in texts])
    embedder.close()


def measure(run: Callable[[], None], count: int) -> tuple[float, float]:
    """Documents/s (wall clock) and this process's CPU milliseconds per document (robust to a busy node)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return count / (time.perf_counter() - wall), 1000 * (time.process_time() - cpu) / count


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("OPENSEARCH_URL"))
    parser.add_argument("--repeat", type=int, default=2, help="copies of the 291 reference texts (non-empty ones)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    node, url = None, args.url
    if url is None:
        node = TestNode()
        already_running = node.status() is not None
        url = node.start()
        node = None if already_running else node
    try:
        deployed = PretrainedModelUploader(url, "all-MiniLM-L6-v2", "1.0.1", source="client", mirror=str(MIRROR)).run()
        model_id = deployed["model_id"]
        texts = [t for t in json.loads(TEXTS.read_text()) if t] * args.repeat
        reused = "reused" if deployed["model"]["reused"] else "new"
        print(f"{len(texts)} texts, batch {BATCH}, model {model_id} ({reused})")
        bare_loop(url, model_id, texts[:BATCH], 1)  # warm the model and the connection

        print("concurrency  bare docs/s  component docs/s  component/bare  client CPU ms/doc bare / component")
        for concurrency in (1, 2, 4):
            bare, component = [], []
            for _ in range(args.rounds):
                bare.append(measure(partial(bare_loop, url, model_id, texts, concurrency), len(texts)))
                component.append(measure(partial(component_run, url, model_id, texts, concurrency), len(texts)))
            (b_rate, b_cpu), (c_rate, c_cpu) = (
                tuple(map(statistics.median, zip(*runs, strict=True))) for runs in (bare, component)
            )
            print(
                f"{concurrency:>11} {b_rate:>12.1f} {c_rate:>17.1f} {c_rate / b_rate:>15.3f}  "
                f"{b_cpu:>8.2f} / {c_cpu:.2f}"
            )

        local = LocalOnnxEmbedder("all-MiniLM-L6-v2", "1.0.1", mirror=MIRROR, progress_bar=False)
        local.embed(texts[:BATCH])
        rates = [measure(partial(local.embed, texts, batch_size=BATCH), len(texts))[0] for _ in range(args.rounds)]
        print(f"local LocalOnnxEmbedder (this process, batch {BATCH}): {statistics.median(rates):.1f} docs/s")
    finally:
        if node is not None:
            node.stop()


if __name__ == "__main__":
    main()
