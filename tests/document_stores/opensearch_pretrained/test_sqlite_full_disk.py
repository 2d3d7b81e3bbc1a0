"""A full disk or a file size limit (``ulimit -f``) while writing the rows or the vector file: one line, and the
store keeps every committed batch (real processes with RLIMIT_FSIZE, which makes writes fail as a full
disk does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from haystack import Document

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore

MODEL = "all-MiniLM-L6-v2"

WRITE_UNDER_LIMIT = """
import resource, sys
import numpy as np
from haystack import Document
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, SQLiteStoreError
store = SQLiteDocumentStore(path=sys.argv[1], model="all-MiniLM-L6-v2")
vectors = np.random.default_rng(0).standard_normal((2000, 384)).astype(np.float32)
first = [Document(id=f"first-{i}", content="rice", embedding=v.tolist()) for i, v in enumerate(vectors[:20])]
store.write_documents(first)
resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, resource.RLIM_INFINITY))
try:
    big = [Document(id=f"big-{i}", content="rice " * 50, embedding=v.tolist()) for i, v in enumerate(vectors)]
    store.write_documents(big)
except SQLiteStoreError as error:
    print(error)
"""


def test_a_write_past_a_file_size_limit_is_one_line_and_keeps_every_earlier_batch(tmp_path):
    path = tmp_path / "store.sqlite"
    result = subprocess.run(
        [sys.executable, "-c", WRITE_UNDER_LIMIT, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "could not be written" in lines[0] and str(path) in lines[0]
    store = SQLiteDocumentStore(path=str(path))
    assert store.count_documents() == 20  # the first batch, nothing of the second
    assert {d.id for d in store.embedding_retrieval(np.ones(384).tolist(), top_k=30)} == {
        f"first-{i}" for i in range(20)
    }
    store.close()


VECTORS_UNDER_LIMIT = """
import resource, sys
import numpy as np
from haystack import Document
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, SQLiteStoreError
store = SQLiteDocumentStore(path=sys.argv[1], model="all-MiniLM-L6-v2")
vectors = np.random.default_rng(0).standard_normal((2000, 384)).astype(np.float32)
first = [Document(id=f"first-{i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors[:20])]
store.write_documents(first)
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.RLIM_INFINITY))  # the rows fit, the vectors do not
try:
    store.write_documents([Document(id=f"big-{i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors)])
except SQLiteStoreError as error:
    print(error)
"""


def test_a_vector_file_past_a_file_size_limit_is_one_line_and_the_next_write_goes_on_exactly(
    tmp_path, assert_exact_dense
):
    path = tmp_path / "store.sqlite"
    result = subprocess.run(
        [sys.executable, "-c", VECTORS_UNDER_LIMIT, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "could not be written" in lines[0] and str(path) in lines[0]
    assert Path(f"{path}-vectors.0").stat().st_size > 64 + 20 * 384 * 4  # the failed append left a torn tail
    store = SQLiteDocumentStore(path=str(path))
    assert store.count_documents() == 20
    vectors = np.random.default_rng(2).standard_normal((30, 384)).astype(np.float32)
    store.write_documents([Document(id=f"later-{i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors)])
    assert Path(f"{path}-vectors.0").stat().st_size == 64 + 50 * 384 * 4  # written over the torn tail
    assert_exact_dense(store, np.ones(384).tolist(), top_k=50)
    store.close()
