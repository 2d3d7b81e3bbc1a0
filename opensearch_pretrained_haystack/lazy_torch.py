"""
PyTorch's import, deferred while Haystack is imported.

Haystack imports PyTorch as it is imported, whenever PyTorch is installed (for device helpers in
``haystack.utils.device``): 4 s and ~500 MiB in a process that only searches the SQLite store or runs ONNX models.

``torch_deferred()`` makes that one import lazy, with the standard library's ``importlib.util.LazyLoader``: inside it,
``import torch`` returns a module that runs PyTorch's own import on first use of any of its names, so nothing changes
for code that uses PyTorch.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType


class _LazyTorchFinder(importlib.abc.MetaPathFinder):
    """Finds ``torch`` as the path finder does, with a loader that runs the import on first use."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "torch":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None  # not installed: the import fails as it would have
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextmanager
def torch_deferred() -> Iterator[None]:
    """Inside, an ``import torch`` of a PyTorch not imported yet is deferred to its first use."""
    finder = _LazyTorchFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
