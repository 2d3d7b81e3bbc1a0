"""Real processes: a writer killed with SIGKILL at several points leaves a store that opens, and re-running it
stores each document exactly once; two writers at once both finish with nothing lost or duplicated (rows, BM25,
vectors and sparse postings alike)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from haystack.dataclasses import SparseEmbedding

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore

# Writes documents first..last in batches as the batch sink does: skip the stored ids, write the rest.
WRITER = """
import sys
import numpy as np
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore

path, first, last, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
store = SQLiteDocumentStore(
    path=path, model="all-MiniLM-L6-v2", busy_timeout=120, sparse_model="opensearch-neural-sparse-encoding-doc-v3-gte"
)
rng = np.random.default_rng(first)
for start in range(first, last, batch):
    ids = [f"doc-{i}" for i in range(start, min(start + batch, last))]
    stored = store.stored_ids(ids)
    new = [Document(id=i, content=f"passage {i} " * 20, embedding=rng.random(384).tolist(),
                    sparse_embedding=SparseEmbedding(indices=rng.choice(500, 20, replace=False).tolist(),
                                                     values=rng.uniform(0.1, 3.0, 20).tolist()))
           for i in ids if i not in stored]
    store.write_documents(new, policy=DuplicatePolicy.OVERWRITE)
    print("committed", start, flush=True)
store.close()
print("done", flush=True)
"""


def _start(tmp_path, store_path, first, last, batch=200):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen(
        [sys.executable, str(script), str(store_path), str(first), str(last), str(batch)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _assert_exactly(store_path, expected_ids, assert_exact_dense, assert_exact_sparse):
    store = SQLiteDocumentStore(path=str(store_path))
    ids = [d.id for d in store.filter_documents()]
    assert len(ids) == len(set(ids)) == len(expected_ids)
    assert set(ids) == expected_ids
    assert len(store.bm25_retrieval("passage", top_k=len(ids) + 10)) == len(ids)  # FTS5 index kept in step
    assert_exact_dense(store, np.random.default_rng(0).random(384).tolist(), top_k=20)  # the vector file too
    query = SparseEmbedding(indices=list(range(0, 500, 25)), values=[1.0] * 20)
    assert_exact_sparse(store, query, top_k=20)  # and the sparse postings
    store.close()


@pytest.mark.parametrize("kill_after", ["start", "first-commit", "third-commit"])
def test_kill_9_leaves_a_store_that_opens_and_a_rerun_stores_each_document_once(
    tmp_path, kill_after, assert_exact_dense, assert_exact_sparse
):
    store_path = tmp_path / "store.sqlite"
    writer = _start(tmp_path, store_path, 0, 3000)
    assert writer.stdout is not None
    if kill_after == "start":
        time.sleep(0.3)  # importing, opening, creating the schema, or the first batch
    else:
        wanted = 1 if kill_after == "first-commit" else 3
        for _ in range(wanted):
            line = writer.stdout.readline()
            assert line.startswith("committed"), writer.stderr.read() if writer.stderr else line
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    writer.stderr.close()

    if store_path.exists():
        survivor = SQLiteDocumentStore(path=str(store_path))
        survivor.count_documents()  # opens: no partial transaction is visible
        survivor.close()
    rerun = _start(tmp_path, store_path, 0, 3000)
    _out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    _assert_exactly(store_path, {f"doc-{i}" for i in range(3000)}, assert_exact_dense, assert_exact_sparse)


@pytest.mark.parametrize("overlap", [True, False])
def test_two_writers_at_once_both_finish_nothing_lost_nothing_duplicated(
    tmp_path, overlap, assert_exact_dense, assert_exact_sparse
):
    store_path = tmp_path / "store.sqlite"
    ranges = [(0, 3000), (0, 3000)] if overlap else [(0, 1500), (1500, 3000)]
    writers = [_start(tmp_path, store_path, first, last, batch=100) for first, last in ranges]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        assert out.rstrip().endswith("done")
    _assert_exactly(store_path, {f"doc-{i}" for i in range(3000)}, assert_exact_dense, assert_exact_sparse)
