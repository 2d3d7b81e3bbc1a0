"""
Documents/s of the semantic sentence highlighter: locally beside a plain torch loop, and beside the cluster.

    python benchmarks/semantic_highlighter.py [--documents 200] [--rounds 3] [--url http://127.0.0.1:9200]

Workload: SciFact abstracts (../shared/eval/scifact, a fixed random sample) in groups of 10, the hits of one search:
each group is highlighted for the title of its first abstract as the question; ~1.8 chunks of 512 tokens a
document. The model is
../shared/testing/tiny-semantic-highlighter (random weights in the published artifact format; the real
opensearch-semantic-highlighter-v1 is a full-size BERT whose weights cannot be downloaded here), so the numbers show
what the client, the tokenizer and the chunking add around the model, not the real model's cost.

Local (rounds interleave the variants; medians are printed):
- ``component-1w``/``-2w``: LocalSemanticHighlighter(workers=1 or 2).run(query, documents) per search (the
  package's TorchScript runtime: one-thread module calls, 1 or 2 at a time; every pair tokenized once);
- ``plain-loop``: torch.jit.load of the same module with torch's defaults, each chunk of each document one at a time
  under torch.no_grad, the chunks cut by the same code (so both compute the same answers).

Remote (with --url or $OPENSEARCH_URL on OpenSearch 3.x): the tiny model deployed with the uploader, and
OpenSearchMLSemanticHighlighter(max_concurrency=2).run per question; documents the node fails on (HTTP 500) are
counted. The 1-minute load average is printed around each part: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from haystack import Document

from haystack_integrations.components.extractors.opensearch_pretrained import (
    LocalSemanticHighlighter,
    OpenSearchMLSemanticHighlighter,
)
from opensearch_pretrained_haystack.artifacts import load_model_dir
from opensearch_pretrained_haystack.highlighting.chunks import IGNORED, encode_pair, highlighter_tokenizer

SHARED = Path(__file__).resolve().parents[2] / "shared"
TINY = SHARED / "testing" / "tiny-semantic-highlighter"


def workload(count: int, seed: int = 7) -> list[tuple[str, list[Document]]]:
    """(question, documents) groups of 10 SciFact abstracts, asked the title of the first."""
    rows = [json.loads(line) for line in (SHARED / "eval" / "scifact" / "corpus.jsonl").open(encoding="utf-8")]
    sample = random.Random(seed).sample([r for r in rows if r["text"].strip()], count)
    documents = [Document(id=row["_id"], content=row["text"]) for row in sample]
    return [(sample[i]["title"], documents[i : i + 10]) for i in range(0, count, 10)]


def load() -> str:
    """The load average, for the printout."""
    return f"load {os.getloadavg()[0]:.2f}"


def timed(run: Callable[[], object], rounds: int) -> float:
    """
    The median time of ``rounds`` calls of ``run``.

    :param run: What to time.
    :param rounds: How many calls.
    :returns: Seconds.
    """
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def plain_loop(groups: list[tuple[str, list[Document]]]) -> Callable[[], object]:
    """The baseline: the traced module as torch loads it, one chunk at a time."""
    import torch

    artifact = load_model_dir(TINY)
    files = artifact.extract()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(files.model_file))
    tokenizer = highlighter_tokenizer(str(files.tokenizer_file))

    def run() -> object:
        answers = []
        with torch.no_grad():
            for question, document in ((q, d) for q, documents in groups for d in documents):
                selected: set[int] = set()
                for chunk in encode_pair(tokenizer, question, document.content or "").chunks:
                    if all(i == IGNORED for i in chunk.sentence_ids):
                        continue
                    inputs = [
                        torch.tensor([values])
                        for values in (chunk.input_ids, chunk.attention_mask, chunk.token_type_ids, chunk.sentence_ids)
                    ]
                    selected.update(int(i) for i in module(*inputs)[0])
                answers.append(sorted(selected))
        return answers

    return run


def component_run(component: object, groups: list[tuple[str, list[Document]]]) -> Callable[[], list[dict]]:
    """
    A function that runs ``component`` on every (query, documents) group.

    :param component: A highlighter component.
    :param groups: (query, documents) pairs.
    :returns: The function; it returns each run's ``meta``.
    """

    def run() -> list[dict]:
        return [component.run(query=q, documents=documents)["meta"] for q, documents in groups]  # type: ignore[attr-defined]

    return run


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("OPENSEARCH_URL"))
    args = parser.parse_args()
    groups = workload(args.documents)
    count = sum(len(documents) for _, documents in groups)
    tokenizer = highlighter_tokenizer(str(load_model_dir(TINY).extract().tokenizer_file))
    chunks = sum(len(encode_pair(tokenizer, q, d.content or "").chunks) for q, documents in groups for d in documents)
    print(f"{count} SciFact documents in {len(groups)} searches, {chunks} chunks of <= 512 tokens; {load()}")

    variants = {}
    for workers in (1, 2):
        local = LocalSemanticHighlighter(model=str(TINY), workers=workers)
        local.warm_up()
        variants[f"component-{workers}w"] = component_run(local, groups)
    variants["plain-loop"] = plain_loop(groups)
    for run in variants.values():
        run()  # warm: first calls of a TorchScript module optimize its graph
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            results[name].append(timed(run, 1))
    for name, seconds in results.items():
        median = statistics.median(seconds)
        print(f"local {name:<14} {count / median:8.1f} documents/s  (median of {args.rounds}: {median:.2f} s)")
    print(load())

    if args.url:
        from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
            PretrainedModelUploader,
        )

        model_id = PretrainedModelUploader(args.url, str(TINY), model_format="TORCH_SCRIPT", source="client").run()
        remote = OpenSearchMLSemanticHighlighter(hosts=args.url, model_id=model_id["model_id"], max_concurrency=2)
        cluster = component_run(remote, groups)
        failed = sum(meta["documents_failed"] for meta in cluster())
        seconds = timed(cluster, args.rounds)
        print(f"cluster component    {count / seconds:8.1f} documents/s  ({failed} documents failed on the node)")
        print(load())


if __name__ == "__main__":
    main()
