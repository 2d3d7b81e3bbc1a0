"""
Neural sparse speed and size.

Local SPARSE_TOKENIZE texts/s; local SPARSE_ENCODING (TorchScript) against a plain torch loop on the same artifact
(batch 32 padded in input order, and one text per call as ML Commons runs them), tokens/s and peak RSS, each in its own
process; remote SPARSE_ENCODING docs/s vs bare _predict calls; index bytes per document of the maps in a `rank_features`
field.

    python benchmarks/sparse_encoding.py                      # local only
    OPENSEARCH_URL=http://127.0.0.1:9200 python benchmarks/sparse_encoding.py --remote
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import RequestError

from opensearch_pretrained_haystack.cluster.remote_sparse import OpenSearchMLSparseEncoder
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseTokenizer

TESTING = Path(__file__).resolve().parents[2] / "shared" / "testing"


def corpus(count: int) -> list[str]:
    """
    ``count`` non-empty reference texts, repeated as needed.

    :param count: How many texts.
    :returns: The texts.
    """
    texts = [t for t in json.loads((TESTING / "texts.json").read_text("utf-8")) if t.strip()]
    return [texts[i % len(texts)] for i in range(count)]


def local(count: int) -> None:
    """
    Print the local SPARSE_TOKENIZE speed, one text at a time and batched.

    :param count: How many texts.
    """
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


ENCODER_MODES = ("local", "torch-batch-32", "torch-one-per-call")


def encoder_run(mode: str, count: int) -> None:
    """One measurement in this process: encode ``count`` texts with the tiny encoder, print one JSON line."""
    from tokenizers import Tokenizer

    from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder

    texts = corpus(count)
    encoder = LocalSparseEncoder(TESTING / "tiny-sparse-encoder")  # also the reference tokenizer and vocabulary
    tokens = sum(encoder.count_tokens(t) for t in texts)
    if mode == "local":
        start = time.perf_counter()
        maps = encoder.encode(texts)
    else:
        import torch

        encoder.close()
        torch.set_num_threads(os.cpu_count() or 1)  # a plain loop keeps torch's default: every core per call
        module = torch.jit.load(str(encoder.artifact.extract().model_file), map_location="cpu").eval()
        tokenizer = Tokenizer.from_file(str(encoder.artifact.extract().tokenizer_file))
        tokenizer.enable_truncation(512)
        tokenizer.enable_padding()
        vocabulary = encoder.vocabulary.tokens
        batch = 32 if mode == "torch-batch-32" else 1
        start = time.perf_counter()
        maps = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch):
                encodings = tokenizer.encode_batch(texts[i : i + batch])
                ids = torch.tensor([e.ids for e in encodings])
                mask = torch.tensor([e.attention_mask for e in encodings])
                weights = module({"input_ids": ids, "attention_mask": mask})["output"].numpy()
                for row in weights:
                    nonzero = np.flatnonzero(row)
                    maps.append({vocabulary[j]: float(row[j]) for j in nonzero if vocabulary[j]})
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "texts": len(maps), "tokens_per_s": tokens / seconds, "peak_rss_mib": peak_mib}))


def local_encoder(count: int) -> None:
    """Each mode in a fresh process (peak RSS is per process), then the speed-up against the batched loop."""
    results = {}
    for mode in ENCODER_MODES:
        command = [sys.executable, __file__, "--encoder-run", mode, "--count", str(count)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
        row = results[mode]
        speed, peak = row["tokens_per_s"], row["peak_rss_mib"]
        print(f"SPARSE_ENCODING {mode:>20}: {speed:>10,.0f} tokens/s, peak RSS {peak:,.0f} MiB")
    ratio = results["local"]["tokens_per_s"] / results["torch-batch-32"]["tokens_per_s"]
    print(f"local / plain torch batch 32: {ratio:.2f}x (goal >= 1.3x)")


def remote(url: str, count: int, batch_size: int) -> None:
    """
    Print the remote SPARSE_ENCODING speed against bare ``_predict`` calls.

    :param url: The cluster's URL.
    :param count: How many texts.
    :param batch_size: Texts per predict call.
    """
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
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--remote", action="store_true")
    parser.add_argument("--remote-count", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--encoder-count", type=int, default=400)
    parser.add_argument("--encoder-run", choices=ENCODER_MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.encoder_run:
        encoder_run(args.encoder_run, args.count)
        return
    local(args.count)
    local_encoder(args.encoder_count)
    if args.remote:
        remote(os.environ["OPENSEARCH_URL"], args.remote_count, args.batch_size)


if __name__ == "__main__":
    main()
