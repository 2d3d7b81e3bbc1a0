"""
Peak RSS of reading, cleaning and cutting one huge single-line JSONL document into passages (issue 24).

Before issue 24 the whole document was tokenized at once and all of its passages held (a 50 MB document peaked at
6.6 GB); now a long text is tokenized a segment at a time and the batch job writes its passages as they are cut.
The run goes through the batch job itself (``index_documents``) as a sparse target runs it (the cluster's ingest
pipeline encodes, so nothing is embedded here: embedding 100,000 passages would take an hour on a development
machine and adds a bounded batch, not the document), into a sink that only counts what it is given.

    python benchmarks/huge_document.py --megabytes 50

Prints the document's size, the passages written and the process's peak RSS before and after the run.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from haystack import Document

from opensearch_pretrained_haystack.app.batch import IndexSummary, job, read_documents
from opensearch_pretrained_haystack.app.pipelines import indexing_components

WORDS = [f"word{i}" for i in range(2000)] + ["the", "of", "and", "search", "vector", "passage", "token."]


class CountingSink:
    """Counts the passages it is given, keeping none."""

    def __init__(self) -> None:
        self.written = 0

    def stored_ids(self, ids: list[str]) -> set[str]:
        """
        None is stored.

        :param ids: The ids asked about.
        :returns: An empty set.
        """
        return set()

    def write(self, documents: list[Document]) -> int:
        """
        Count ``documents``, keeping none.

        :param documents: The passages to count.
        :returns: How many were given.
        """
        self.written += len(documents)
        return len(documents)


def peak_rss_mb() -> float:
    """This process's peak RSS in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=50.0)
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "huge.jsonl"
        target = int(args.megabytes * 2**20)
        words: list[str] = []
        size = 0
        while size < target:
            word = rng.choice(WORDS)
            words.append(word)
            size += len(word) + 1
        path.write_text(json.dumps({"content": " ".join(words)}) + "\n")
        del words
        components = indexing_components(model="all-MiniLM-L6-v2", version="1.0.1", cluster_encodes=True)
        assert components.splitter is not None
        components.splitter.warm_up()
        before = peak_rss_mb()
        started = time.perf_counter()
        sink = CountingSink()
        summary = IndexSummary()
        job.index_documents(read_documents([path], summary), sink, components=components, progress_bar=False)
        elapsed = time.perf_counter() - started
        print(f"document: {path.stat().st_size / 2**20:.1f} MiB on one line; passages written: {sink.written}")
        print(f"peak RSS before the run: {before:.0f} MiB; after: {peak_rss_mb():.0f} MiB; run: {elapsed:.1f} s")


if __name__ == "__main__":
    main()
