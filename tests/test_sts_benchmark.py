"""all-MiniLM-L6-v2 1.0.1 (ONNX, from the mirror) on the STS Benchmark test split, against MTEB's published score."""

import csv

import numpy as np

from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from tests.conftest import SHARED

MTEB_SPEARMAN = 0.8203


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson correlation of average ranks (ties share their mean rank)."""
    return float(np.corrcoef(average_ranks(x), average_ranks(y))[0, 1])


def average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def test_average_ranks_and_spearman():
    assert average_ranks(np.array([10.0, 30.0, 20.0, 20.0])).tolist() == [0.0, 3.0, 1.5, 1.5]
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([5.0, 50.0, 500.0])) == 1.0


def test_sts_benchmark_spearman_matches_mteb():
    with open(SHARED / "eval" / "stsbenchmark" / "sts-test.pairs.tsv", encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    gold = np.array([float(row["score"]) for row in rows])
    embedder = LocalOnnxEmbedder("all-MiniLM-L6-v2", "1.0.1", progress_bar=False)
    first = embedder.embed([row["sentence1"] for row in rows], batch_size=64)
    second = embedder.embed([row["sentence2"] for row in rows], batch_size=64)
    cosine = np.sum(first * second, axis=1) / (np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1))
    score = spearman(cosine, gold)
    print(f"STS Benchmark test Spearman: {score:.5f} (MTEB {MTEB_SPEARMAN})")
    assert abs(score - MTEB_SPEARMAN) <= 0.003
