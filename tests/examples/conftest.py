"""The examples run as a user runs them: imported as scripts, in a scratch directory."""

import importlib
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def examples(monkeypatch, tmp_path):
    """The example modules, imported as scripts (their folder on sys.path), run in a scratch directory."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)
    return lambda name: importlib.import_module(name)
