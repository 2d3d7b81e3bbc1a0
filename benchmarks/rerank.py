"""
Pairs/s of the rerankers: LocalOnnxRanker beside plain onnxruntime loops, OpenSearchMLRanker beside bare _predict.

    python benchmarks/rerank.py [--queries 10] [--rounds 3] [--url http://127.0.0.1:9200]

Workload: per query, the top-100 candidates, each a 200-word passage (STS Benchmark vocabulary), ~270 tokens a pair.

Local, with a cross-encoder of the real size: the published ms-marco-MiniLM-L-6-v2 is a 6-layer, 384-wide BERT
like all-MiniLM-L6-v2, whose weights cannot be downloaded here; so the all-MiniLM-L6-v2 1.0.1 ONNX artifact of
../shared/mirror is repackaged as a TEXT_SIMILARITY artifact (its tokenizer truncating at 512 as the cross-encoder's
does) whose "logit" is the first unit of the [CLS] state: the encoder's work is the real one, the missing 384->1
head is negligible. Rounds interleave the variants; medians are printed.
- ``component``: LocalOnnxRanker(batch_size=32).run(query, documents), length-sorted runs;
- ``plain-ort-batch32``: one onnxruntime session (its default threads), batches of 32 pairs padded to the longest;
- ``plain-ort-per-pair``: the same session, one pair per run, as ML Commons runs them.

Remote (with --url or $OPENSEARCH_URL): ../shared/testing/tiny-cross-encoder deployed with the uploader (the node
cannot hold real weights it cannot download; the tiny model makes the client's overhead visible, not hide it):
- ``bare``: 2 threads posting `_predict` for batches of 32 with opensearch-py's `perform_request`;
- ``component``: OpenSearchMLRanker(batch_size=32, max_concurrency=2).run(query, documents).

The machine is shared: the 1-minute load average is printed before and after each part, so a slow round can be told
from a busy machine. (sentence-transformers' CrossEncoder is not compared: ``pip install sentence-transformers``
pulls torch with its CUDA wheels, over 1.4 GB, and the real-size model would need torch weights this repository
does not have.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
from haystack import Document
from tokenizers import Tokenizer

from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker, OpenSearchMLRanker

SHARED = Path(__file__).resolve().parents[2] / "shared"
MINILM = SHARED / "mirror/models/ml-models/huggingface/sentence-transformers/all-MiniLM-L6-v2/1.0.1/onnx"
TINY = SHARED / "testing" / "tiny-cross-encoder"
CANDIDATES, WORDS = 100, 200


def workload(queries: int, seed: int = 7) -> list[tuple[str, list[str]]]:
    """
    Random queries, each with ``CANDIDATES`` random passages of STS Benchmark words.

    :param queries: How many queries.
    :param seed: The random seed, so runs repeat.
    :returns: (query, passages) pairs.
    """
    rows = (SHARED / "eval" / "stsbenchmark" / "sts-test.pairs.tsv").read_text("utf-8").splitlines()
    vocabulary = sorted({w for row in rows for w in row.split("\t", 1)[-1].split()})
    rng = random.Random(seed)
    return [
        (
            " ".join(rng.choices(vocabulary, k=8)),
            [" ".join(rng.choices(vocabulary, k=WORDS)) for _ in range(CANDIDATES)],
        )
        for _ in range(queries)
    ]


def real_size_cross_encoder(folder: Path) -> Path:
    """all-MiniLM-L6-v2's ONNX graph as a TEXT_SIMILARITY artifact with 512-token truncation (see the docstring)."""
    source_zip = next(MINILM.glob("*.zip"))
    config = json.loads((MINILM / "config.json").read_text("utf-8"))
    target = folder / "real-size-cross-encoder-onnx.zip"
    with zipfile.ZipFile(source_zip) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("tokenizer.json"):
                tokenizer = json.loads(data)
                tokenizer["truncation"] = {
                    "direction": "Right",
                    "max_length": 512,
                    "strategy": "LongestFirst",
                    "stride": 0,
                }
                data = json.dumps(tokenizer).encode()
            out.writestr(info.filename, data)
    config.update(
        name="benchmark/real-size-cross-encoder",
        function_name="TEXT_SIMILARITY",
        model_task_type="TEXT_SIMILARITY",
        model_content_size_in_bytes=target.stat().st_size,
        model_content_hash_value=hashlib.sha256(target.read_bytes()).hexdigest(),
    )
    (folder / "config.json").write_text(json.dumps(config), "utf-8")
    return folder


def plain_ort(folder: Path) -> tuple[Callable[[str, list[str]], object], Callable[[str, list[str]], object]]:
    """The obvious onnxruntime code: a default session, the artifact's tokenizer padded to the longest pair."""
    with zipfile.ZipFile(next(folder.glob("*.zip"))) as archive:
        names = archive.namelist()
        model = archive.read(next(n for n in names if n.endswith(".onnx")))
        tokenizer = Tokenizer.from_str(archive.read(next(n for n in names if n.endswith("tokenizer.json"))).decode())
    tokenizer.enable_padding()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    output = session.get_outputs()[0].name

    def run(query: str, passages: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch([(query, p) for p in passages])
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (logits,) = session.run([output], feeds)
        return logits.reshape(len(passages), -1)[:, 0]

    def batch32(query: str, passages: list[str]) -> object:
        return np.concatenate([run(query, passages[i : i + 32]) for i in range(0, len(passages), 32)])

    def per_pair(query: str, passages: list[str]) -> object:
        return np.concatenate([run(query, [p]) for p in passages])

    return batch32, per_pair


def measure(
    variants: dict[str, Callable[[str, list[str]], object]], work: list[tuple[str, list[str]]], rounds: int
) -> None:
    """
    Time each variant on ``work`` and print pairs/s, medians over ``rounds``, against the first variant.

    :param variants: Rerank functions by name; the first is the baseline.
    :param work: (query, passages) pairs.
    :param rounds: How many rounds.
    """
    for fn in variants.values():  # warm-up: sessions, threads, connections
        fn(work[0][0], work[0][1][:4])
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            for query, passages in work:
                fn(query, passages)
            seconds[name].append(time.perf_counter() - start)
    pairs = len(work) * CANDIDATES
    rates = {name: pairs / statistics.median(times) for name, times in seconds.items()}
    first = next(iter(rates))
    for name, rate in rates.items():
        print(
            f"  {name:22} {rate:9.1f} pairs/s"
            + ("" if name == first else f"   {first} / {name}: {rates[first] / rate:.2f}x")
        )


def load() -> str:
    """The load average, for the printout."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("OPENSEARCH_URL"))
    args = parser.parse_args()
    work = workload(args.queries)
    documents = {query: [Document(content=p) for p in passages] for query, passages in work}

    with tempfile.TemporaryDirectory() as tmp:
        folder = real_size_cross_encoder(Path(tmp))
        ranker = LocalOnnxRanker(model=str(folder), cache_dir=tmp, top_k=CANDIDATES, progress_bar=False)
        ranker.warm_up()
        tokens = statistics.mean(ranker._encoder.count_tokens(q, p) for q, ps in work for p in ps)  # type: ignore[union-attr]
        batch32, per_pair = plain_ort(folder)
        print(
            f"local, real-size cross-encoder, {args.queries} queries x {CANDIDATES} candidates of {WORDS} words "
            f"(~{tokens:.0f} tokens a pair), medians of {args.rounds} rounds, {os.cpu_count()} CPUs, {load()}"
        )
        measure(
            {
                "component": lambda q, ps: ranker.run(query=q, documents=documents[q]),
                "plain-ort-batch32": batch32,
                "plain-ort-per-pair": per_pair,
            },
            work,
            args.rounds,
        )
        print(f"  after: {load()}")
        ranker.close()

    if args.url:
        from opensearchpy import OpenSearch

        from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
            PretrainedModelUploader,
        )
        from opensearch_pretrained_haystack.cluster.text_similarity import predict_body

        model_id = PretrainedModelUploader(args.url, str(TINY / "onnx"), source="client").run()["model_id"]
        remote = OpenSearchMLRanker(
            hosts=args.url, model_id=model_id, top_k=CANDIDATES, batch_size=32, max_concurrency=2
        )
        client = OpenSearch(args.url, pool_maxsize=10)
        pool = ThreadPoolExecutor(2)

        def bare(query: str, passages: list[str]) -> object:
            path = f"/_plugins/_ml/_predict/text_similarity/{model_id}"

            def post(i: int) -> object:
                return client.transport.perform_request("POST", path, body=predict_body(query, passages[i : i + 32]))

            return list(pool.map(post, range(0, len(passages), 32)))

        print(
            f"remote, tiny cross-encoder on {args.url}, batches of 32, 2 in flight, medians of {args.rounds} rounds, "
            f"{load()}"
        )
        measure(
            {"component": lambda q, ps: remote.run(query=q, documents=documents[q]), "bare": bare}, work, args.rounds
        )
        print(f"  after: {load()}")
        remote.close()
        pool.shutdown()


if __name__ == "__main__":
    main()
