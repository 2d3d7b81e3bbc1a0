"""
The SQLite embedded store at scale: size, peak RSS while writing, query latency from a new process and warm.

Vectors are random unit vectors (embedding a million texts is not possible on a development machine; the store's
cost does not depend on where the vectors come from). Passages are short synthetic texts (~100 characters) of
Zipf-distributed words.

    python benchmarks/embedded_store.py --count 100000 [--dir /tmp/bench]

The machine is shared, so each timing runs three times (rounds) and the median is reported, with the load average.

Targets (issue 12): peak RSS <= 1 GiB writing 1M passages; size <= 2x (raw float32 + text); a query from a new
process <= 1.5 s at 100k, <= 3 s at 1M; warm through the Python API <= 50 ms at 100k, <= 300 ms at 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WRITE = """
import json, resource, sys, time
import numpy as np
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore

path, count, batch = sys.argv[1], int(sys.argv[2]), 2048
# Zipf-distributed words over a 30,000-word vocabulary, as in natural text (a tiny vocabulary makes every
# query term match most passages, which no real corpus does).
words = [f"w{i}" for i in range(30000)]
store = SQLiteDocumentStore(path=path, model="all-MiniLM-L6-v2")
rng = np.random.default_rng(0)
text_bytes, started = 0, time.perf_counter()
for start in range(0, count, batch):
    n = min(batch, count - start)
    vectors = rng.standard_normal((n, 384), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    picks = np.minimum(rng.zipf(1.2, (n, 14)) - 1, len(words) - 1)
    documents = []
    for i in range(n):
        content = f"passage {start + i}: " + " ".join(words[j] for j in picks[i])
        text_bytes += len(content.encode())
        documents.append(Document(id=str(start + i), content=content, embedding=vectors[i].tolist()))
    store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
store.close()
print(json.dumps({"seconds": time.perf_counter() - started, "text_bytes": text_bytes,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

QUERY = """
import json, resource, sys, time
started = time.perf_counter()
import numpy as np
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
store = SQLiteDocumentStore(path=sys.argv[1])
query = np.random.default_rng(int(sys.argv[2])).standard_normal(384)
store.embedding_retrieval((query / np.linalg.norm(query)).tolist(), top_k=50)
store.bm25_retrieval("w40 w300 w2000", top_k=50)
print(json.dumps({"seconds_in_process": time.perf_counter() - started,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _python(code: str, *args: str) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out), time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="where to build the store (default: a temporary directory)")
    args = parser.parse_args()
    directory = Path(args.dir or tempfile.mkdtemp(prefix="embedded-store-bench-"))
    path = directory / f"store-{args.count}.sqlite"
    for stale in directory.glob(path.name + "*"):
        stale.unlink()

    print(f"load average at start: {_load()}")
    written, _ = _python(WRITE, str(path), str(args.count))
    size = sum(p.stat().st_size for p in directory.glob(path.name + "*"))  # the database and its vector file
    raw = args.count * 384 * 4 + written["text_bytes"]
    print(
        f"passages: {args.count:,}  write: {written['seconds']:.1f} s  "
        f"peak RSS writing: {written['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"store size (database + vector file): {size / 2**20:.0f} MiB = {size / raw:.2f} x "
        f"(raw float32 vectors + text: {raw / 2**20:.0f} MiB)"
    )

    _first, first_wall = _python(QUERY, str(path), "0")
    print(f"first query after writing (new process, checking the whole vector file): {first_wall:.2f} s")
    vector_size = sum(p.stat().st_size for p in directory.glob(path.name + "-vector*"))
    print(f"of which the vector file (vectors + squared norms): {vector_size / 2**20:.0f} MiB")
    walls = [_python(QUERY, str(path), str(seed)) for seed in range(1, 4)]
    print(
        f"new process, dense + BM25 query, warm OS cache: median {statistics.median(w for _, w in walls):.2f} s wall "
        f"of {_list(w for _, w in walls)} s (interpreter and imports included), "
        f"peak RSS {max(r['peak_rss_mib'] for r, _ in walls):.0f} MiB"
    )

    import numpy as np

    from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore

    store = SQLiteDocumentStore(path=str(path))
    rng = np.random.default_rng(7)
    queries = [(q / np.linalg.norm(q)).tolist() for q in rng.standard_normal((21, 384))]
    store.embedding_retrieval(queries[0], top_k=50)
    for name, run in [
        ("dense", lambda q: store.embedding_retrieval(q, top_k=50)),
        ("bm25", lambda q: store.bm25_retrieval("w40 w300 w2000", top_k=50)),
        ("hybrid", lambda q: store.hybrid_retrieval("w40 w300 w2000", q, top_k=50)),
    ]:
        rounds = []
        for _ in range(3):
            times = []
            for query in queries[1:]:
                started = time.perf_counter()
                run(query)
                times.append(time.perf_counter() - started)
            rounds.append(statistics.median(times) * 1000)
        print(f"warm {name} query (Python API, top 50): median {statistics.median(rounds):.0f} ms ({_list(rounds)})")
    print(
        f"peak RSS of this process (warm queries): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    _time_changes(store, queries[0])
    store.close()
    print(f"load average at end: {_load()}")


def _time_changes(store: Any, query: list[float]) -> None:
    """
    Each change, then the first dense query.

    The change's own time (a replaced vector is appended, deleted rows recorded as dead) and the query's (issue 22:
    well under a second at 1M passages).
    """
    import numpy as np
    from haystack import Document
    from haystack.document_stores.types import DuplicatePolicy

    vector = np.random.default_rng(11).standard_normal(384)
    replaced = Document(id="2", content="a replaced passage", embedding=(vector / np.linalg.norm(vector)).tolist())
    for name, change in [
        ("delete one document", lambda: store.delete_documents(["0"])),
        ("delete 1,000 by filter", lambda: store.delete_by_filter({"field": "id", "operator": "in",
                                                                    "value": [str(i) for i in range(10, 1010)]})),
        ("replace one document's vector", lambda: store.write_documents([replaced], DuplicatePolicy.OVERWRITE)),
        ("update meta by filter", lambda: store.update_by_filter({"field": "id", "operator": "==", "value": "3"},
                                                                 {"edited": True})),
    ]:  # fmt: skip
        started = time.perf_counter()
        change()
        changed = time.perf_counter() - started
        store.embedding_retrieval(query, top_k=50)
        print(f"{name}: {changed:.2f} s, then the first dense query: {time.perf_counter() - started - changed:.3f} s")


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _list(values: Iterable[float]) -> str:
    return "/".join(f"{value:.2f}" if value < 10 else f"{value:.0f}" for value in values)


if __name__ == "__main__":
    main()
