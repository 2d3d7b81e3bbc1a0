"""Neural sparse speed and size: local SPARSE_TOKENIZE texts/s; remote SPARSE_ENCODING docs/s vs bare _predict calls;
index bytes per document of the maps in a `rank_features` field.

    python benchmarks/sparse_encoding.py                      # local only
    OPENSEARCH_URL=http://127.0.0.1:9200 python benchmarks/sparse_encoding.py --remote
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import RequestError

from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseTokenizer

TESTING = Path(__file__).resolve().parents[2] / "shared" / "testing"


def corpus(count: int) -> list[str]:
    texts = [t for t in json.loads((TESTING / "texts.json").read_text("utf-8")) if t.strip()]
    return [texts[i % len(texts)] for i in range(count)]


def local(count: int) -> None:
    tokenizer = SparseTokenizer(str(TESTING / "tiny-sparse-tokenizer"))
    texts = corpus(count)
    start = time.perf_counter()
    for text in texts:
        tokenizer.encode([text])
    one = time.perf_counter() - start
    start = time.perf_counter()
    tokenizer.encode(texts)
    batch = time.perf_counter() - start
    print(
        f"local SPARSE_TOKENIZE: {count / one:,.0f} texts/s one at a time (queries), "
        f"{count / batch:,.0f} texts/s batched"
    )


def remote(url: str, count: int, batch_size: int) -> None:
    from tests.sparse_models import deployed_sparse_model  # the package's uploader deploys the tiny encoder

    model_id = deployed_sparse_model(url, "encoder")
    texts = corpus(count)
    client = OpenSearch(url)
    start = time.perf_counter()
    for i in range(0, count, batch_size):
        client.transport.perform_request(
            "POST", f"/_plugins/_ml/_predict/sparse_encoding/{model_id}", body={"text_docs": texts[i : i + batch_size]}
        )
    bare = time.perf_counter() - start
    encoder = OpenSearchMLSparseEncoder(url, model_id, batch_size=batch_size, max_concurrency=1)
    start = time.perf_counter()
    maps = encoder.encode(texts)
    ours = time.perf_counter() - start
    encoder2 = OpenSearchMLSparseEncoder(url, model_id, batch_size=batch_size, max_concurrency=2)
    start = time.perf_counter()
    encoder2.encode(texts)
    ours2 = time.perf_counter() - start
    print(
        f"remote SPARSE_ENCODING (tiny encoder, batch {batch_size}): bare _predict {count / bare:,.1f} docs/s, "
        f"OpenSearchMLSparseEncoder {count / ours:,.1f} docs/s (concurrency 1), {count / ours2:,.1f} docs/s (2)"
    )
    index = f"bench-sparse-{uuid.uuid4().hex[:8]}"
    tokens = sum(len(m) for m in maps) / count
    map_json = sum(len(json.dumps(m)) for m in maps) / count
    print(f"maps: {tokens:.0f} tokens/doc, {map_json:,.0f} bytes/doc as JSON _source")
    try:
        client.indices.create(
            index=index,
            body={
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                "mappings": {"properties": {"content": {"type": "text"}, "sparse": {"type": "rank_features"}}},
            },
        )
    except RequestError as error:  # rank_features lives in the mapper-extras module
        print(f"index: not measured, the node has no rank_features ({error.error}: {error})")
        return
    try:
        # rank_features refuses non-positive values; the encoder's maps hold only positive weights.
        actions = ({"_index": index, "_source": {"content": t, "sparse": m}} for t, m in zip(texts, maps, strict=True))
        helpers.bulk(client, actions)
        client.indices.forcemerge(index=index, max_num_segments=1, params={"flush": "true"})
        client.indices.refresh(index=index)
        stats = client.indices.stats(index=index)["indices"][index]["primaries"]
        content_only = sum(len(t.encode("utf-8")) for t in texts)
        print(
            f"index: {stats['store']['size_in_bytes'] / count:,.0f} bytes/doc on disk ({tokens:.0f} tokens/doc; "
            f"content alone {content_only / count:,.0f} bytes/doc)"
        )
    finally:
        client.indices.delete(index=index)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--remote", action="store_true")
    parser.add_argument("--remote-count", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    local(args.count)
    if args.remote:
        remote(os.environ["OPENSEARCH_URL"], args.remote_count, args.batch_size)


if __name__ == "__main__":
    main()
