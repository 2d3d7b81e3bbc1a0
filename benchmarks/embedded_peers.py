"""
The embedded store beside its embedded peers, on the same data in one interleaved run (issue 22).

100k random 384-dimensional unit vectors with ~100-character texts (Zipf-distributed words), written once per store
in a fresh process; then, round after round, every store answers a query from a new process, beside a new process
that only imports numpy and the store's library (Haystack for this store and InMemoryDocumentStore): the floor under
a query from a new process of any store of that library. Then each answers 20
warm queries in one process, and 20 warm BM25 queries of three words where it has full-text search (this store,
InMemoryDocumentStore, LanceDB). Recall@10 is against brute force over the same vectors (on unit vectors, the dot
product, cosine and l2 rank alike).

Each store is handed what its users hand it, made before its write is timed: the arrays for sqlite-vec, LanceDB,
Qdrant and Chroma; Haystack ``Document``s (as an embedder returns them) for this store and InMemoryDocumentStore,
whose building (Haystack's dataclass from the arrays' rows, not the store) is its own column. This store's write
includes its BM25 (FTS5) index, LanceDB's its FTS index. Peak RSS is each process's own (``VmHWM``); a Haystack
store's writing process holds the Documents it is handed, so the RSS before its write is shown beside.

An editable install under ``PYTHONDONTWRITEBYTECODE`` compiles this package's modules in every new process (~30 ms
here), which a wheel install does not: run ``python -m compileall -q haystack_integrations
opensearch_pretrained_haystack`` once first.

    pip install sqlite-vec sqlean.py lancedb qdrant-client chromadb   # the peers: not dependencies of the package
    python benchmarks/embedded_peers.py --count 100000 [--dir /tmp/peers] [--rounds 3]

A peer that does not import is listed as missing. InMemoryDocumentStore keeps nothing on disk, so it is written
and queried in one process (its "new process" time includes building the Documents and the write). sqlite-vec needs
an SQLite that loads extensions: CPython's ``sqlite3`` here cannot, so it runs on ``sqlean.py``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DATA = """
import numpy as np
def data(count):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((count, 384), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = [f"w{i}" for i in range(30000)]
    picks = np.minimum(rng.zipf(1.2, (count, 14)) - 1, len(words) - 1)
    texts = [f"passage {i}: " + " ".join(words[j] for j in picks[i]) for i in range(count)]
    return vectors, texts
def queries():
    q = np.random.default_rng(7).standard_normal((21, 384)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)
def text_queries():
    rng = np.random.default_rng(9)
    return [" ".join(f"w{j}" for j in rng.integers(10, 3000, 3)) for _ in range(21)]
"""

# Per peer: `write(path, vectors, texts)` and `open_(path)` returning `search(query) -> ids of the 10 nearest`; a peer
# with full-text search also has `open_text(path)` returning `search(text) -> ids of the 10 best by BM25`.
PEERS = {
    "this store (SQLite)": """
from haystack import Document
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
def prepare(vectors, texts):
    return [Document(id=str(i), content=t, embedding=vectors[i].tolist()) for i, t in enumerate(texts)]
def write(path, documents):
    store = SQLiteDocumentStore(path=path + ".sqlite", model="all-MiniLM-L6-v2")
    for s in range(0, len(documents), 4096):
        store.write_documents(documents[s : s + 4096])
    store.close()
def open_(path):
    store = SQLiteDocumentStore(path=path + ".sqlite")
    return lambda q: [int(d.id) for d in store.embedding_retrieval(q.tolist(), top_k=10)]
def open_text(path):
    store = SQLiteDocumentStore(path=path + ".sqlite")
    return lambda t: [int(d.id) for d in store.bm25_retrieval(t, top_k=10)]
""",
    "InMemoryDocumentStore": """
from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
STORE = InMemoryDocumentStore(embedding_similarity_function="dot_product")
def prepare(vectors, texts):
    return [Document(id=str(i), content=t, embedding=vectors[i].tolist()) for i, t in enumerate(texts)]
def write(path, documents):
    STORE.write_documents(documents)
def open_(path):
    return lambda q: [int(d.id) for d in STORE.embedding_retrieval(q.tolist(), top_k=10)]
def open_text(path):
    return lambda t: [int(d.id) for d in STORE.bm25_retrieval(t, top_k=10)]
""",
    "sqlite-vec": """
import sqlean, sqlite_vec
def connect(path):
    c = sqlean.connect(path + ".sqlite-vec")
    c.enable_load_extension(True)
    sqlite_vec.load(c)
    return c
def write(path, data):
    vectors, texts = data
    c = connect(path)
    c.execute("CREATE VIRTUAL TABLE v USING vec0(embedding float[384] distance_metric=cosine, +content text)")
    with c:
        c.executemany("INSERT INTO v(rowid, embedding, content) VALUES (?, ?, ?)",
                      ((i, vectors[i].tobytes(), t) for i, t in enumerate(texts)))
    c.close()
def open_(path):
    c = connect(path)
    return lambda q: [r[0] for r in c.execute(
        "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 10 ORDER BY distance", (q.tobytes(),))]
""",
    "LanceDB": """
import lancedb, pyarrow as pa
def write(path, data):
    vectors, texts = data
    db = lancedb.connect(path + ".lance")
    table = pa.table({"id": pa.array(range(len(texts))), "text": texts,
                      "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 384)})
    db.create_table("t", data=table).create_fts_index("text")  # its BM25 (this store's write includes FTS5 too)
def open_(path):
    table = lancedb.connect(path + ".lance").open_table("t")
    return lambda q: table.search(q).metric("dot").limit(10).to_arrow()["id"].to_pylist()
def open_text(path):
    table = lancedb.connect(path + ".lance").open_table("t")
    return lambda t: table.search(t, query_type="fts").limit(10).to_arrow()["id"].to_pylist()
""",
    "Qdrant (local mode)": """
from qdrant_client import QdrantClient, models
def write(path, data):
    vectors, texts = data
    client = QdrantClient(path=path + ".qdrant")
    client.create_collection("t", vectors_config=models.VectorParams(size=384, distance=models.Distance.DOT))
    for s in range(0, len(texts), 4096):
        client.upsert("t", models.Batch(ids=list(range(s, min(s + 4096, len(texts)))),
                      vectors=vectors[s : s + 4096].tolist(),
                      payloads=[{"text": t} for t in texts[s : s + 4096]]))
    client.close()
def open_(path):
    client = QdrantClient(path=path + ".qdrant")
    return lambda q: [p.id for p in client.query_points("t", query=q.tolist(), limit=10).points]
""",
    "Chroma": """
import chromadb
def write(path, data):
    vectors, texts = data
    collection = chromadb.PersistentClient(path=path + ".chroma").create_collection(
        "docs", configuration={"hnsw": {"space": "ip"}})
    for s in range(0, len(texts), 4096):
        ids = [str(i) for i in range(s, min(s + 4096, len(texts)))]
        collection.add(ids=ids, embeddings=vectors[s : s + 4096], documents=texts[s : s + 4096])
def open_(path):
    collection = chromadb.PersistentClient(path=path + ".chroma").get_collection("docs")
    return lambda q: [int(i) for i in collection.query(query_embeddings=[q], n_results=10)["ids"][0]]
""",
}

# What a peer's users hand it, made before the write is timed: Haystack Documents (as an embedder returns them) for the
# Haystack stores, the arrays for the others. Building the Documents is timed apart.
PREPARED = """
import json, sys, time
def rss_mib(field):  # of this process since its exec (getrusage's ru_maxrss would carry over the parent's peak)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024
def prepared(count):
    vectors, texts = data(count)
    started = time.perf_counter()
    items = prepare(vectors, texts) if "prepare" in globals() else (vectors, texts)
    return items, (time.perf_counter() - started if "prepare" in globals() else None)
def timed_write(path, count):
    items, built = prepared(count)
    rss_before = rss_mib("VmRSS")
    started = time.perf_counter()
    write(path, items)
    return {"built": built, "seconds": time.perf_counter() - started, "rss_before_write": rss_before}
"""

WRITE = """
path, count = sys.argv[1], int(sys.argv[2])
print(json.dumps({**timed_write(path, count),
                  "peak_rss_mib": rss_mib("VmHWM")}))
"""

# The floor under a peer's new-process query: python, numpy and the library the store comes with, imported and
# nothing else (for the Haystack stores, Haystack: what any store returning its Documents imports).
FLOORS = {
    "this store (SQLite)": "from haystack import Document",
    "InMemoryDocumentStore": "from haystack import Document",
    "sqlite-vec": "import sqlean, sqlite_vec",
    "LanceDB": "import lancedb, pyarrow",
    "Qdrant (local mode)": "from qdrant_client import QdrantClient, models",
    "Chroma": "import chromadb",
}

QUERY = """
path, count, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "warm"
written = timed_write(path, count) if IN_MEMORY else {}
search = open_(path)
qs = queries()
found = [search(qs[0])]
times, text_times = [], []
if warm:
    for q in qs[1:]:
        started = time.perf_counter()
        found.append(search(q))
        times.append(time.perf_counter() - started)
    if "open_text" in globals():
        search_text, texts = open_text(path), text_queries()
        search_text(texts[0])
        for t in texts[1:]:
            started = time.perf_counter()
            search_text(t)
            text_times.append(time.perf_counter() - started)
print(json.dumps({"found": [[int(i) for i in ids] for ids in found], "warm_ms": [t * 1000 for t in times],
                  "bm25_ms": [t * 1000 for t in text_times], **written,
                  "peak_rss_mib": rss_mib("VmHWM")}))
"""


def _code(peer: str, body: str) -> str:
    return DATA + PEERS[peer] + f"\nIN_MEMORY = {peer == 'InMemoryDocumentStore'}\n" + PREPARED + body


def _run(peer: str, body: str | None, *args: str) -> tuple[dict[str, Any], float]:
    """Run ``body`` with the peer's code in a new process (``None``: only the imports of its floor)."""
    code = _code(peer, body) if body is not None else DATA + FLOORS[peer] + '\nprint("{}")'
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def _disk(directory: Path, prefix: str) -> int:
    total = 0
    for path in directory.glob(prefix + ".*"):
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        total += sum(file.stat().st_size for file in files)
    return total


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--peers", nargs="*", default=list(PEERS), help="which stores (default: all)")
    args = parser.parse_args()
    directory = Path(args.dir or tempfile.mkdtemp(prefix="embedded-peers-"))
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    print(f"{args.count:,} vectors, load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    namespace: dict[str, object] = {}
    exec(DATA, namespace)  # the same data the peers write, for brute force
    vectors, _texts = namespace["data"](args.count)  # type: ignore[operator]
    queries = namespace["queries"]()  # type: ignore[operator]
    truth = [np.argsort(-(vectors @ q), kind="stable")[:10].tolist() for q in queries]

    rows: dict[str, dict[str, Any]] = {}
    for peer in args.peers:
        path = str(directory / f"peer{list(PEERS).index(peer)}")
        try:
            written = {} if peer == "InMemoryDocumentStore" else _run(peer, WRITE, path, str(args.count))[0]
        except RuntimeError as error:
            print(f"{peer}: not measured ({error})")
            continue
        rows[peer] = {**written, "disk": _disk(directory, Path(path).name), "new": [], "floor": []}
    for _ in range(args.rounds):  # interleaved: each round asks every store once, from a new process
        for peer, row in list(rows.items()):
            path = str(directory / f"peer{list(PEERS).index(peer)}")
            try:
                row["floor"].append(_run(peer, None)[1])
                result, seconds = _run(peer, QUERY, path, str(args.count), "cold")
            except RuntimeError as error:
                print(f"{peer}: new-process query not measured ({error})")
                del rows[peer]
                continue
            row["new"].append(seconds)
            if "seconds" in result:  # InMemoryDocumentStore, written in its query's process
                row.setdefault("built", result["built"])
                row.setdefault("seconds", result["seconds"])
    for peer, row in list(rows.items()):
        path = str(directory / f"peer{list(PEERS).index(peer)}")
        try:
            result, _ = _run(peer, QUERY, path, str(args.count), "warm")
        except RuntimeError as error:
            print(f"{peer}: warm queries not measured ({error})")
            del rows[peer]
            continue
        found = result["found"]
        row["warm_ms"] = statistics.median(result["warm_ms"])
        row["bm25_ms"] = statistics.median(result["bm25_ms"]) if result["bm25_ms"] else None
        row["query_rss"] = result["peak_rss_mib"]
        row["recall"] = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])

    print(
        "\n| store | Documents built s | write s | disk MiB | peak RSS writing MiB | new-process floor s | "
        "new-process query s | warm query ms | recall@10 | warm BM25 ms | peak RSS querying MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for peer, row in rows.items():
        built = "-" if row.get("built") is None else f"{row['built']:.1f}"
        write = f"{row['seconds']:.1f}" + (" (in its query process)" if peer == "InMemoryDocumentStore" else "")
        rss = "-" if "peak_rss_mib" not in row else f"{row['peak_rss_mib']:.0f}"
        if "peak_rss_mib" in row and row.get("built") is not None:
            rss += f" ({row['rss_before_write']:.0f} before the write)"
        print(
            f"| {peer} | {built} | {write} | {row['disk'] / 2**20:.0f} | {rss} | "
            f"{statistics.median(row['floor']):.2f} | {statistics.median(row['new']):.2f} | "
            f"{row['warm_ms']:.1f} | {row['recall']:.2f} | "
            f"{'-' if row['bm25_ms'] is None else format(row['bm25_ms'], '.1f')} | {row['query_rss']:.0f} |"
        )
    print(f"\nload average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
