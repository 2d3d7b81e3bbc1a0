"""
Sparse search in the SQLite store: write time, file size and warm query latency.

Embeddings are synthetic (encoding tens of thousands of passages with a real sparse encoder takes hours on a
development machine; the store's cost depends only on the number of postings a query reads): each passage has
``--tokens`` distinct tokens drawn Zipf-distributed from BERT's 30,522-token vocabulary (frequent tokens appear in
most passages, as the expansion tokens of OpenSearch's doc encoders do), weights uniform in (0.05, 3). Queries are
short (8 tokens, as the inference-free query tokenizers give) and long (80 tokens, as the bi-encoders give).

    python benchmarks/sparse_store.py --count 25000 [--tokens 150] [--dir /tmp/bench]

Each query shape runs ``--queries`` times; the median and 95th percentile are reported with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
from haystack import Document
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore

VOCABULARY = 30522


_RANKS = np.arange(1, VOCABULARY + 1, dtype=np.float64) ** -1.1
_PROBABILITIES = _RANKS / _RANKS.sum()


def _zipf_tokens(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` distinct token ids, frequent ones more likely (Zipf, exponent 1.1)."""
    drawn = np.unique(rng.choice(VOCABULARY, size=count * 4, p=_PROBABILITIES))
    while len(drawn) < count:  # rare: too many repeats
        drawn = np.union1d(drawn, rng.choice(VOCABULARY, size=count, p=_PROBABILITIES))
    return rng.permutation(drawn)[:count]


def main() -> None:
    """Write the synthetic passages, then time the two query shapes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=25000)
    parser.add_argument("--tokens", type=int, default=150)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--dir", default=None)
    arguments = parser.parse_args()
    rng = np.random.default_rng(7)
    directory = arguments.dir or tempfile.mkdtemp(prefix="sparse-store-")
    path = os.path.join(directory, f"sparse-{arguments.count}.sqlite")
    if os.path.exists(path):
        os.remove(path)
    store = SQLiteDocumentStore(
        path=path, model="all-MiniLM-L6-v2", sparse_model="opensearch-neural-sparse-encoding-doc-v3-gte"
    )
    documents = []
    for number in range(arguments.count):
        tokens = _zipf_tokens(rng, arguments.tokens)
        weights = rng.uniform(0.05, 3.0, len(tokens)).astype(np.float32)  # an encoder's weights are float32
        embedding = SparseEmbedding(indices=tokens.tolist(), values=weights.tolist())
        documents.append(Document(content=f"passage {number}", sparse_embedding=embedding))
    started = time.perf_counter()
    for first in range(0, arguments.count, 1000):
        store.write_documents(documents[first : first + 1000])
    written = time.perf_counter() - started
    size = os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
    print(f"{arguments.count} passages x {arguments.tokens} tokens: written in {written:.1f} s, {size / 2**20:.0f} MiB")
    for length in (8, 80):
        timings = []
        for _ in range(arguments.queries):
            tokens = _zipf_tokens(rng, length)
            query = SparseEmbedding(indices=tokens.tolist(), values=rng.uniform(0.1, 5.0, length).tolist())
            started = time.perf_counter()
            store.sparse_retrieval(query, top_k=10)
            timings.append(time.perf_counter() - started)
        timings.sort()
        p95 = timings[int(0.95 * (len(timings) - 1))]
        print(f"query of {length} tokens: median {statistics.median(timings) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print("load average:", " ".join(f"{load:.2f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
