"""
Local vs cluster BM25 on the same corpus: rank overlap@10 between the embedded store and an OpenSearch index.

Both are built by the package with the same analyzer (``text_analysis``): the store by ``SQLiteDocumentStore``,
the index by ``knn_index_body`` (text only, no vectors: BM25 needs none). Each query's top 10 from the store's
``bm25_retrieval`` and from the index's ``match`` on ``content`` are compared; what still differs is BM25's
formula (FTS5's idf vs Lucene's, Lucene's one-byte lengths) and, on several shards, idf per shard.

    python benchmarks/bm25_parity.py --dataset ../shared/eval/scifact --split train --opensearch URL [--shards N]

Prints the mean overlap@10 (shared documents / 10) and the share of queries whose top 10 is the same set.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path

from haystack import Document
from opensearchpy import OpenSearch, helpers

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.evaluation import corpus_documents, load_beir
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
from opensearch_pretrained_haystack.indices.knn import has_analysis_common, knn_index_body

TOP = 10


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--opensearch", required=True)
    parser.add_argument("--analyzer", default="english")
    parser.add_argument("--shards", type=int, default=1)
    args = parser.parse_args()
    dataset = load_beir(args.dataset, split=args.split)
    documents = list(corpus_documents(dataset.corpus_path))
    client = OpenSearch(hosts=args.opensearch, timeout=300)
    if not has_analysis_common(client, RetryPolicy()):
        raise SystemExit(f"{args.opensearch} has no analysis-common module: its index cannot analyze as the store.")
    model = get_model("all-MiniLM-L6-v2", "1.0.1")
    index = f"bm25-parity-{uuid.uuid4().hex[:8]}"
    body = knn_index_body(model, number_of_replicas=0, analyzer=args.analyzer)
    body["settings"]["number_of_shards"] = args.shards
    client.indices.create(index=index, body=body)
    try:
        actions = ({"_index": index, "_id": d.id, "_source": {"content": d.content}} for d in documents)
        helpers.bulk(client, actions, refresh=True, chunk_size=200)
        with tempfile.TemporaryDirectory() as scratch:
            store = SQLiteDocumentStore(path=str(Path(scratch) / "s.sqlite"), model=model.name, analyzer=args.analyzer)
            store.write_documents([Document(id=d.id, content=d.content) for d in documents])
            overlaps, same = [], 0
            for text in dataset.queries.values():
                local = {d.id for d in store.bm25_retrieval(text, top_k=TOP)}
                hits = client.search(index=index, body={"query": {"match": {"content": text}}, "size": TOP})
                cluster = {hit["_id"] for hit in hits["hits"]["hits"]}
                overlaps.append(len(local & cluster) / TOP)
                same += local == cluster
            store.close()
    finally:
        client.indices.delete(index=index)
    print(
        f"{len(documents)} documents, {len(overlaps)} queries, analyzer {args.analyzer}, {args.shards} shard(s): "
        f"overlap@{TOP} {sum(overlaps) / len(overlaps):.4f}, same top {TOP} {same / len(overlaps):.4f}"
    )


if __name__ == "__main__":
    main()
