"""
Recall@10 and index size of compressed k-NN indices against exact search, on a real node.

    python benchmarks/compressed_knn.py --url http://127.0.0.1:9200 [--documents 3000] [--queries 300]
        [--levels 4x] [--keep-vectors /tmp/scifact-minilm.npz]

SciFact's first `--documents` abstracts (title + text) and train queries from ../shared/eval, embedded locally
with all-MiniLM-L6-v2 1.0.1 (../shared/mirror; 384-d, l2 space as in the catalog). The exact top 10 of each query
is computed here by brute force. Each index (lucene HNSW, m 16, ef_construction 100, one shard, no replica,
force-merged to one segment so the graph is whole) is searched with k=10 through `knn_index_body`'s mappings:
- `float`: no compression (1x, in memory);
- `<level> on_disk`: `mode=on_disk`, `compression_level=<level>`, k-NN's default rescoring;
- `<level> on_disk, rescore x3`: the same index, `rescore_search_kwargs(3.0)`;
- `<level> on_disk, no rescore`: the same index, `rescore: false` (quantized scores only).
Size is `_stats/store` after the force merge (the full-precision vectors stay on disk beside the quantized ones;
what compression saves is the memory the graph search needs, which `_plugins/_knn/stats` reports for
native engines only). The test node's k-NN has no native library: never ask it for lucene 32x (a search kills a
3.6.0 node; see the note of issue 21).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from opensearchpy import OpenSearch, helpers

from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.indices.knn import VECTOR_FIELD, knn_index_body, rescore_search_kwargs
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder

SHARED = Path(__file__).resolve().parents[2] / "shared"
SCIFACT = SHARED / "eval" / "scifact"
MODEL = get_model("all-MiniLM-L6-v2", "1.0.1")
K = 10


def scifact(documents: int, queries: int) -> tuple[list[str], list[str]]:
    """The first `documents` abstracts (title + text) and the first `queries` queries."""
    with open(SCIFACT / "corpus.jsonl") as file:
        corpus = [json.loads(line) for _, line in zip(range(documents), file, strict=False)]
    with open(SCIFACT / "queries.jsonl") as file:
        asked = [json.loads(line)["text"] for _, line in zip(range(queries), file, strict=False)]
    return [f"{doc['title']}\n{doc['text']}" for doc in corpus], asked


def embeddings(texts: list[str], queries: list[str], keep: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Local all-MiniLM-L6-v2 vectors, read from `keep` when it holds the same counts."""
    if keep and keep.exists():
        saved = np.load(keep)
        if len(saved["documents"]) == len(texts) and len(saved["queries"]) == len(queries):
            return saved["documents"], saved["queries"]
    embedder = LocalOnnxEmbedder(MODEL.name, MODEL.version, mirror=SHARED / "mirror", progress_bar=False)
    vectors = embedder.embed(texts, batch_size=32), embedder.embed(queries, batch_size=32)
    if keep:
        np.savez(keep, documents=vectors[0], queries=vectors[1])
    return vectors


def exact_top_k(documents: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    """Brute-force l2 neighbours (the model's space type)."""
    distances = (queries**2).sum(1)[:, None] - 2 * queries @ documents.T + (documents**2).sum(1)[None, :]
    return [set(np.argsort(row, kind="stable")[:K].tolist()) for row in distances]


def build(client: OpenSearch, index: str, vectors: np.ndarray, **compression: str) -> tuple[float, int]:
    """Create, fill and force-merge one index; its build time (s) and store size (bytes)."""
    body = knn_index_body(MODEL, number_of_replicas=0, **compression)
    body["settings"]["number_of_shards"] = 1
    client.indices.delete(index=index, ignore_unavailable=True)
    client.indices.create(index=index, body=body)
    start = time.perf_counter()
    actions = ({"_index": index, "_id": str(i), VECTOR_FIELD: v.tolist()} for i, v in enumerate(vectors))
    helpers.bulk(client, actions, chunk_size=500, request_timeout=300)
    client.indices.refresh(index=index)
    client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=600)
    seconds = time.perf_counter() - start
    size = client.indices.stats(index=index, metric="store")["indices"][index]["total"]["store"]["size_in_bytes"]
    return seconds, size


def recall(client: OpenSearch, index: str, queries: np.ndarray, exact: list[set[int]], options: dict) -> float:
    """Mean recall@10 of k=10 searches with `options` in the knn clause."""
    found = 0
    for vector, truth in zip(queries, exact, strict=True):
        clause = {"vector": vector.tolist(), "k": K, **options}
        hits = client.search(index=index, body={"query": {"knn": {VECTOR_FIELD: clause}}, "size": K, "_source": False})[
            "hits"
        ]["hits"]
        found += len(truth & {int(hit["_id"]) for hit in hits})
    return found / (K * len(exact))


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("OPENSEARCH_URL"), required=not os.environ.get("OPENSEARCH_URL")
    )
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--levels", default="4x", help="comma-separated compression levels (default: %(default)s)")
    parser.add_argument("--keep-vectors", type=Path, help="cache the local embeddings in this .npz")
    args = parser.parse_args()
    client = OpenSearch(args.url, timeout=120)
    print(
        f"OpenSearch {client.info()['version']['number']} at {args.url}; {os.cpu_count()} cores; load {os.getloadavg()}"
    )
    texts, asked = scifact(args.documents, args.queries)
    start = time.perf_counter()
    documents, queries = embeddings(texts, asked, args.keep_vectors)
    print(
        f"{len(documents)} documents, {len(queries)} queries, {MODEL.dimension}-d ({time.perf_counter() - start:.0f} s)"
    )
    exact = exact_top_k(documents, queries)
    prefix = f"bench-compressed-knn-{os.getpid()}"
    rows = []
    try:
        seconds, size = build(client, f"{prefix}-float", documents)
        rows.append(("float (1x, in memory)", seconds, size, recall(client, f"{prefix}-float", queries, exact, {})))
        for level in args.levels.split(","):
            index = f"{prefix}-{level}"
            seconds, size = build(client, index, documents, mode="on_disk", compression_level=level)
            for label, options in [
                ("default rescore", {}),
                ("rescore x3", rescore_search_kwargs(3.0)),
                ("no rescore", {"rescore": False}),
            ]:
                rows.append(
                    (f"{level} on_disk, {label}", seconds, size, recall(client, index, queries, exact, options))
                )
    finally:
        client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    print(f"{'index':36} {'recall@10':>9} {'store MB':>9} {'build s':>8}")
    for label, seconds, size, value in rows:
        print(f"{label:36} {value:9.4f} {size / 1e6:9.2f} {seconds:8.1f}")


if __name__ == "__main__":
    main()
