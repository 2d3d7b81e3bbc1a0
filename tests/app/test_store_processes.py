"""The embedded (SQLite) store through `index` with real processes: kill -9 at several points, two writers at once
(issues 14 and 12)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.batch import Target, index_sources
from opensearch_pretrained_haystack.catalog import get_model

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
# index_sources in a child process, in small groups so that it writes (and can be killed) many times.
DRIVER = """
import sys
from pathlib import Path
from opensearch_pretrained_haystack.app.batch import Target, index_sources
from opensearch_pretrained_haystack.catalog import get_model
index_sources([sys.argv[1]], Target(store_path=Path(sys.argv[2])), get_model("all-MiniLM-L6-v2", "1.0.1"),
              group_size=int(sys.argv[3]), progress_bar=False)
"""
CLI = [sys.executable, "-m", "opensearch_pretrained_haystack.app.cli.main"]


def corpus(path: Path, name: str, count: int) -> Path:
    path.write_text(
        "".join(json.dumps({"content": f"{name} passage {i} on soil and rain."}) + "\n" for i in range(count))
    )
    return path


def stored_ids(path: Path) -> list[str]:
    """Every document id in the store, read as the store itself reads them."""
    return [document.id for document in SQLiteDocumentStore(path=str(path)).filter_documents()]


def committed(path: Path) -> int:
    """How many documents another process has committed so far (0 before its schema exists)."""
    if not path.exists():
        return 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.OperationalError:  # no table yet
        return 0
    finally:
        connection.close()


def wait_until(condition, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None or condition(), "the process ended before the point the test waits for"
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def test_kill_9_at_several_points_leaves_a_store_that_opens_and_a_rerun_stores_each_passage_once(tmp_path):
    source = corpus(tmp_path / "docs.jsonl", "kill", 160)
    reference = tmp_path / "reference.sqlite"
    index_sources([source], Target(store_path=reference), MINILM, progress_bar=False)
    expected = sorted(stored_ids(reference))
    for fraction in (0.0, 0.3, 0.55, 0.8):
        store = tmp_path / f"killed-{fraction}.sqlite"
        child = subprocess.Popen([sys.executable, "-c", DRIVER, str(source), str(store), "4"])
        wanted = fraction * len(expected)
        try:
            wait_until(lambda store=store, wanted=wanted: store.exists() and committed(store) >= wanted, child)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        opened = SQLiteDocumentStore(path=str(store), model=MINILM.name, version=MINILM.version)
        partial = opened.count_documents()  # opens: no error
        opened.close()
        assert partial < len(expected)
        resumed = index_sources([source], Target(store_path=store), MINILM, progress_bar=False)
        assert resumed.passages_written == len(expected) - partial
        ids = stored_ids(store)
        assert sorted(ids) == expected  # each passage exactly once, none lost


@pytest.mark.skipif(sys.platform == "win32", reason="pauses the first writer with SIGSTOP")
def test_two_index_runs_into_one_store_both_finish_and_nothing_is_lost(tmp_path):
    first_source = corpus(tmp_path / "first.jsonl", "first", 120)
    second_source = corpus(tmp_path / "second.jsonl", "second", 60)
    store = tmp_path / "store.sqlite"
    first = subprocess.Popen([sys.executable, "-c", DRIVER, str(first_source), str(store), "8"])
    second = None
    try:
        wait_until(lambda: committed(store) > 0, first)  # mid-run
        first.send_signal(signal.SIGSTOP)  # paused, perhaps inside a write transaction: the second must wait then
        errors = tmp_path / "second.err"
        with open(errors, "w") as stderr:
            second = subprocess.Popen(
                [*CLI, "index", str(second_source), "--store", str(store), "--model-version", "1.0.1"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
            time.sleep(2)  # let the second start while the first is paused
        first.send_signal(signal.SIGCONT)
        assert first.wait(timeout=300) == 0
        out, _ = second.communicate(timeout=300)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == 180
    assert second.returncode == 0 and "passages written: 60," in out
