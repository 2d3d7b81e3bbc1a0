"""Importing the SQLite store or the command line leaves PyTorch unloaded (Haystack would import it: seconds and
hundreds of MiB), and PyTorch still works when code uses it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

STATE = "import sys; module = sys.modules.get('torch'); print(type(module).__name__ if module else 'absent')"


@pytest.mark.parametrize(
    "importing",
    [
        "from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore",
        "from opensearch_pretrained_haystack.app.cli.main import main",
    ],
)
def test_importing_the_store_or_the_command_line_leaves_pytorch_unloaded(importing):
    found = subprocess.run([sys.executable, "-c", f"{importing}; {STATE}"], capture_output=True, text=True, check=True)
    installed = importlib.util.find_spec("torch") is not None
    assert found.stdout.strip() == ("_LazyModule" if installed else "absent")


def test_pytorch_loads_on_first_use_after_the_store_deferred_it():
    code = (
        "from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore\n"
        "import torch\n"
        "print(float(torch.ones(3).sum()), type(torch).__name__)"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["3.0", "module"]
