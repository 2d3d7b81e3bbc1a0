"""A full disk or a file size limit (``ulimit -f``) while writing or while rebuilding the vector copy: one line,
and the store keeps every committed batch (real processes with RLIMIT_FSIZE, which makes writes fail as a full
disk does)."""

from __future__ import annotations

import hashlib
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


SEARCH_UNDER_LIMIT = """
import resource, sys
import numpy as np
from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
store = SQLiteDocumentStore(path=sys.argv[1])
print(" ".join(d.id for d in store.embedding_retrieval(np.ones(384).tolist(), top_k=5)))
"""


def test_a_vector_copy_that_cannot_be_rebuilt_leaves_the_search_exact_with_one_warning(tmp_path):
    path = tmp_path / "store.sqlite"
    store = SQLiteDocumentStore(path=str(path), model=MODEL)
    vectors = np.random.default_rng(1).standard_normal((500, 384)).astype(np.float32)
    store.write_documents([Document(id=f"d{i}", content="x", embedding=v.tolist()) for i, v in enumerate(vectors)])
    expected = " ".join(d.id for d in store.embedding_retrieval(np.ones(384).tolist(), top_k=5))
    store.close()
    for copy in tmp_path.glob("store.sqlite-vector*"):
        copy.unlink()  # the next search rebuilds it: 500 x 384 x 4 bytes, past the 100 kB limit
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = subprocess.run(
        [sys.executable, "-c", SEARCH_UNDER_LIMIT, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "could not be rebuilt" in warnings[0] and "Traceback" not in result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not list(Path(tmp_path).glob("store.sqlite-vector*.tmp"))  # no half-written copy left
