"""
Build a small BEIR-format retrieval set from the STS Benchmark dev split, for choosing splitting defaults.

No public BEIR set (SciFact, NFCorpus, ...) can be fetched here, and no installed package ships one, so this
builds an honest stand-in that exercises exactly what splitting is for: long documents whose relevant
sentence may sit past the model's token limit. Each query is sentence 1 of a highly similar STS pair
(score >= 4); its one relevant document holds sentence 2 at a random position among unrelated STS
sentences (pairs scored < 2), about 400 tokens per document, among 400 documents of
unrelated sentences only. Deterministic (fixed seed).

    python benchmarks/sts_beir.py OUT_DIR [--sts ../shared/eval/stsbenchmark/sts-dev.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

NEEDLES_PER_DOCUMENT = 2
FILLERS_PER_DOCUMENT = 18
# Documents of unrelated sentences only, so a query must find its document among many.
DISTRACTOR_DOCUMENTS = 400


def read_pairs(path: Path) -> list[tuple[float, str, str]]:
    """(score, sentence1, sentence2) rows of an STS Benchmark csv (tab-separated, unquoted)."""
    with open(path, encoding="utf-8", newline="") as file:
        return [(float(row[4]), row[5], row[6]) for row in csv.reader(file, delimiter="\t", quoting=csv.QUOTE_NONE)]


def build(sts_csv: Path, out: Path, seed: int = 13) -> None:
    """
    Write a BEIR dataset whose documents hide STS Benchmark needles among unrelated sentences.

    :param sts_csv: The STS Benchmark csv.
    :param out: The dataset directory to write.
    :param seed: The random seed, so runs repeat.
    """
    rng = random.Random(seed)
    pairs = read_pairs(sts_csv)
    needles = [(s1, s2) for score, s1, s2 in pairs if score >= 4.0]
    fillers = [s for score, s1, s2 in pairs if score < 2.0 for s in (s1, s2)]
    rng.shuffle(needles)
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with (
        open(out / "corpus.jsonl", "w", encoding="utf-8") as corpus,
        open(out / "queries.jsonl", "w", encoding="utf-8") as queries,
        open(out / "qrels" / "test.tsv", "w", encoding="utf-8") as qrels,
    ):
        qrels.write("query-id\tcorpus-id\tscore\n")
        for number in range(0, len(needles) - NEEDLES_PER_DOCUMENT + 1, NEEDLES_PER_DOCUMENT):
            doc_id = f"d{number // NEEDLES_PER_DOCUMENT}"
            sentences = rng.sample(fillers, FILLERS_PER_DOCUMENT)
            for offset, (query, needle) in enumerate(needles[number : number + NEEDLES_PER_DOCUMENT]):
                sentences.insert(rng.randrange(len(sentences) + 1), needle)
                query_id = f"q{number + offset}"
                queries.write(json.dumps({"_id": query_id, "text": query}) + "\n")
                qrels.write(f"{query_id}\t{doc_id}\t1\n")
            corpus.write(json.dumps({"_id": doc_id, "title": "", "text": " ".join(sentences)}) + "\n")
        for number in range(DISTRACTOR_DOCUMENTS):
            sentences = rng.sample(fillers, FILLERS_PER_DOCUMENT + NEEDLES_PER_DOCUMENT)
            corpus.write(json.dumps({"_id": f"x{number}", "title": "", "text": " ".join(sentences)}) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--sts",
        type=Path,
        default=Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "stsbenchmark" / "sts-dev.csv",
    )
    args = parser.parse_args()
    build(args.sts, args.out)
