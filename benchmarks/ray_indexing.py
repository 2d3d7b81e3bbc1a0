"""
`index --engine ray` against the local engine on the same documents, into the same OpenSearch (issue 13).

    python benchmarks/ray_indexing.py --opensearch URL [--documents 10000] [--workers 1 2]

Prints: embedding alone (the floor), the local engine into OpenSearch, `ray.init` time, the Ray engine per
`--workers` value, bulk writes alone (the same passages, pre-embedded, one writer), and the peak RSS of the job's
process tree (this process and every child: Ray's GCS, raylet and workers), sampled every 0.2 s. Documents are
`batch_indexing.py`'s short STS-vocabulary texts, one passage each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_indexing import MODEL, VERSION, time_embedding, write_corpus


@contextmanager
def peak_tree_rss() -> Iterator[list[float]]:
    """The peak RSS (MiB) of this process and its descendants while the block runs, in the yielded list."""
    peak, done, me = [0.0], threading.Event(), psutil.Process()

    def sample() -> None:
        while not done.wait(0.2):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                with suppress(psutil.Error):
                    total += process.memory_info().rss
            peak[0] = max(peak[0], total / 2**20)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """
    Time one call of ``run``.

    :param run: What to time.
    :returns: Seconds, and what ``run`` returned.
    """
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opensearch", required=True, metavar="URL")
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    from opensearchpy import OpenSearch

    from opensearch_pretrained_haystack.app.batch import Target, index_sources
    from opensearch_pretrained_haystack.app.batch.ray_options import RayOptions
    from opensearch_pretrained_haystack.catalog import get_model

    model, client = get_model(MODEL, VERSION), OpenSearch(hosts=args.opensearch)
    indices: list[str] = []

    def target() -> Target:
        indices.append(f"bench-ray-{uuid.uuid4().hex[:8]}")
        return Target(hosts=args.opensearch, index=indices[-1], replicas=0)

    print(f"{args.documents} documents, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "docs.jsonl"
        texts = write_corpus(corpus, args.documents)
        try:
            seconds = time_embedding(texts)
            print(f"embedding alone (batch 32, all CPUs): {len(texts) / seconds:.1f} docs/s ({seconds:.1f} s)")
            with peak_tree_rss() as peak:
                local_target = target()
                seconds, summary = timed(lambda: index_sources([corpus], local_target, model, progress_bar=False))
            local_rate = len(texts) / seconds
            print(
                f"local engine into OpenSearch: {local_rate:.1f} docs/s ({seconds:.1f} s), peak RSS {peak[0]:.0f} MiB"
            )
            print(f"  {summary.line()}")
            writes = _time_bulk_writes(model, local_target)
            print(f"bulk writes alone (one writer, pre-embedded 384-d passages): {writes:.0f} passages/s")

            import ray

            with peak_tree_rss() as peak:
                seconds, _ = timed(lambda: ray.init(include_dashboard=False, log_to_driver=False))
                print(f"ray.init (local, {int(ray.cluster_resources()['CPU'])} CPUs): {seconds:.1f} s")
                for workers in args.workers:
                    options = RayOptions(workers=workers)
                    ray_target = target()
                    seconds, summary = timed(
                        lambda to=ray_target, ray_options=options: index_sources(
                            [corpus], to, model, progress_bar=False, engine="ray", ray=ray_options
                        )
                    )
                    rate = len(texts) / seconds
                    print(
                        f"ray engine, {workers} embedding actor(s): {rate:.1f} docs/s ({seconds:.1f} s), "
                        f"{rate / local_rate:.2f}x the local engine"
                    )
                    print(f"  {summary.line()}")
                ray.shutdown()
            print(f"peak RSS of the Ray job's process tree (driver, GCS, raylet, workers): {peak[0]:.0f} MiB")
        finally:
            for index in indices:
                client.indices.delete(index=index, ignore_unavailable=True)


def _time_bulk_writes(model: Any, source: Any) -> float:
    """Passages/s of `bulk_write` re-writing the local engine's passages (with vectors) into a fresh index."""
    from dataclasses import replace

    from opensearch_pretrained_haystack.app.batch.bulk_writes import bulk_write
    from opensearch_pretrained_haystack.cluster.retry import RetryPolicy
    from opensearch_pretrained_haystack.store import document_store_for

    reader = document_store_for(model, source.hosts, source.index, create_index=False, return_embedding=True)
    passages = reader.filter_documents()
    destination = replace(source, index=f"{source.index}-copy")
    writer = document_store_for(model, destination.hosts, destination.index, number_of_replicas=0)
    try:
        start = time.perf_counter()
        for group in range(0, len(passages), 2048):
            bulk_write(writer, passages[group : group + 2048], RetryPolicy())
        return len(passages) / (time.perf_counter() - start)
    finally:
        writer._client.indices.delete(index=destination.index, ignore_unavailable=True)  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
