"""
One process-wide cache of what is loaded from artifacts, with reference counts.

It holds tokenizers, ONNX sessions, later cross-encoders or sparse vocabularies, keyed by the artifact's content hash
and what was loaded from it.

Each user holds a ``Lease``; the object is loaded by the first ``acquire`` and dropped when the last lease is
released, so a text embedder, a document embedder and a splitter of one model load it once between them, and
closing all of them gives the memory back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from opensearch_pretrained_haystack.artifacts.artifact import ModelArtifact

T = TypeVar("T")


@dataclass
class _Entry:
    users: int = 0
    value: Any = None
    loaded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class Lease(Generic[T]):
    """A share of one loaded object; ``release`` it when done (idempotent)."""

    def __init__(self, cache: LoadedArtifacts, key: tuple[Hashable, ...], entry: _Entry) -> None:
        self._cache, self._key, self._entry = cache, key, entry
        self.value: T = entry.value
        self.released = False

    def release(self) -> None:
        """Give the share back; the last one frees the loaded object (idempotent)."""
        if not self.released:
            self.released = True
            self._cache._release(self._key, self._entry)


class LoadedArtifacts:
    """The cache; use the module's ``loaded_artifacts`` instance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Hashable, ...], _Entry] = {}

    def acquire(
        self, kind: str, artifact: ModelArtifact, load: Callable[[ModelArtifact], T], *options: Hashable
    ) -> Lease[T]:
        """A lease on ``load(artifact)``, loaded only if no lease on the same kind, content and options is held."""
        key = (kind, artifact.sha256, *options)
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            entry.users += 1
        try:
            with entry.lock:  # one loader per key; other keys load in parallel
                if not entry.loaded:
                    entry.value, entry.loaded = load(artifact), True
        except BaseException:
            self._release(key, entry)
            raise
        return Lease(self, key, entry)

    def users(self, kind: str, artifact: ModelArtifact, *options: Hashable) -> int:
        """How many leases are held on one loaded object (0: not loaded)."""
        with self._lock:
            entry = self._entries.get((kind, artifact.sha256, *options))
            return entry.users if entry else 0

    def _release(self, key: tuple[Hashable, ...], entry: _Entry) -> None:
        with self._lock:
            entry.users -= 1
            if entry.users == 0 and self._entries.get(key) is entry:
                del self._entries[key]


loaded_artifacts = LoadedArtifacts()
