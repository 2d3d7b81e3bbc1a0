"""
Throughput and memory of the `index` command (local embedder, or `--remote`) against embedding alone.

    python benchmarks/batch_indexing.py [--documents 10000] [--rss-documents 100000]
                                        [--opensearch URL --remote MODEL_ID]

1. Embedding alone: `LocalOnnxEmbedder.embed` (sharing the loaded model with the command's embedder) on the
   documents' texts (batch 32), the floor any indexing path pays. 2. The `index` command's code path
   (`batch.index_sources`: read JSONL, clean, split, embed, write the embedded SQLite store, progress bar) on
   the same documents; its overhead is the extra time over (1). With `--opensearch URL --remote MODEL_ID` it
   also times indexing into OpenSearch with the cluster embedding. 3. Peak RSS of a separate process running
   the `index` command on `--rss-documents` short documents (the embedded SQLite store: memory must stay flat).
   Documents are short STS-vocabulary texts (8-40 words), one passage each, generated deterministically.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

MODEL, VERSION = "all-MiniLM-L6-v2", "1.0.1"
SHARED = Path(__file__).resolve().parents[2] / "shared"


def write_corpus(path: Path, documents: int, seed: int = 7) -> list[str]:
    """
    Write ``documents`` random JSONL documents made of STS Benchmark words.

    :param path: The JSONL file to write.
    :param documents: How many documents.
    :param seed: The random seed, so runs repeat.
    :returns: The documents' texts.
    """
    rows = (SHARED / "eval" / "stsbenchmark" / "sts-test.pairs.tsv").read_text("utf-8").splitlines()
    words = sorted({w for row in rows for w in row.split("\t", 1)[-1].split()})
    rng = random.Random(seed)
    texts = [" ".join(rng.choices(words, k=rng.randint(8, 40))) for _ in range(documents)]
    with open(path, "w", encoding="utf-8") as file:
        file.writelines(
            json.dumps({"id": f"doc-{number}", "content": text, "meta": {"n": number}}) + "\n"
            for number, text in enumerate(texts)
        )
    return texts


def time_embedding(texts: list[str]) -> float:
    """
    Time the local embedder alone on ``texts``, after a warm-up.

    :param texts: The texts to embed.
    :returns: Seconds.
    """
    from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder

    embedder = LocalOnnxEmbedder(MODEL, VERSION, progress_bar=False)  # shares its session with the one `index` uses
    embedder.embed(texts[:64])  # warm-up
    start = time.perf_counter()
    embedder.embed(texts, batch_size=32)
    return time.perf_counter() - start


def time_index(corpus: Path, target_args: dict[str, str | None]) -> tuple[float, str]:
    """
    Time ``index_sources`` on ``corpus`` into the target ``target_args`` describes.

    :param corpus: The JSONL corpus.
    :param target_args: ``Target`` arguments, plus ``remote`` (a cluster model id, or None).
    :returns: Seconds, and the summary line.
    """
    from opensearch_pretrained_haystack.app.batch import Target, index_sources
    from opensearch_pretrained_haystack.catalog import get_model

    remote = target_args.pop("remote")
    start = time.perf_counter()
    summary = index_sources([corpus], Target(**target_args), get_model(MODEL, VERSION), remote_model_id=remote)
    return time.perf_counter() - start, summary.line()


def peak_rss_of_index_command(corpus: Path, store: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of `opensearch-pretrained index` in a child process."""
    command = [
        sys.executable,
        "-m",
        "opensearch_pretrained_haystack.app.cli.main",
        "index",
        str(corpus),
        "--store",
        str(store),
        "--model-version",
        VERSION,
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=sys.stdout)
    return time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--rss-documents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed")
    parser.add_argument("--opensearch", metavar="URL")
    parser.add_argument("--remote", metavar="MODEL_ID")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        texts = write_corpus(work / "docs.jsonl", args.documents)
        embed_runs, index_runs = [], []
        for round_number in range(args.rounds):  # interleaved, so a noisy neighbour hurts both alike
            embed_runs.append(time_embedding(texts))
            store = work / f"store-{round_number}.sqlite"
            seconds, summary = time_index(work / "docs.jsonl", {"store_path": store, "remote": None})
            index_runs.append(seconds)
        embed_seconds, index_seconds = statistics.median(embed_runs), statistics.median(index_runs)
        print(f"embedding alone: {len(texts) / embed_seconds:.1f} docs/s ({embed_seconds:.1f} s)")
        print(
            f"index (local, embedded store): {len(texts) / index_seconds:.1f} docs/s ({index_seconds:.1f} s); {summary}"
        )
        print(f"overhead of the index command over embedding alone: {100 * (index_seconds / embed_seconds - 1):.1f}%")
        if args.opensearch and args.remote:
            from opensearchpy import OpenSearch

            index = f"bench-{uuid.uuid4().hex[:8]}"
            try:
                seconds, summary = time_index(
                    work / "docs.jsonl", {"hosts": args.opensearch, "index": index, "remote": args.remote}
                )
            finally:
                OpenSearch(hosts=args.opensearch).indices.delete(index=index, ignore_unavailable=True)
            print(f"index (remote embedder, into OpenSearch): {len(texts) / seconds:.1f} docs/s; {summary}")
        if args.rss_documents:
            write_corpus(work / "many.jsonl", args.rss_documents)
            seconds, rss = peak_rss_of_index_command(work / "many.jsonl", work / "many-store.sqlite")
            print(
                f"index command on {args.rss_documents} documents: {args.rss_documents / seconds:.1f} docs/s, "
                f"peak RSS {rss:.0f} MiB"
            )


if __name__ == "__main__":
    main()
