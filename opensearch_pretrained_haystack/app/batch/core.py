"""
What the local and the Ray engine share, so both count, de-duplicate and fail alike.

The chunk sizes, the run's ``IndexSummary``, which passages to embed (``new_passages``) and which embedded passages to
write (``embedded_passages``). It imports neither engine: each engine imports it, and the ``index`` command chooses the
engine (``job.index_sources``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from haystack import Document

from opensearch_pretrained_haystack.text_preparation import has_content

logger = logging.getLogger(__name__)

# Documents read, cleaned and split at a time: at most this many, and no more text than READ_CHUNK_CHARS (beyond
# the first document), so a chunk of huge documents is not held at once.
READ_CHUNK = 256
READ_CHUNK_CHARS = 2_000_000
# Passages embedded and written at a time: large enough that the embedder's length-sorted batches pad little
# (measured: 512 costs ~4% more embedding time than 2,048), small enough that memory stays flat (~30 MB).
PASSAGE_GROUP = 2048
# The first group's size: small, so the first passages are written within seconds even on a slow machine.
FIRST_GROUP = 32
MAX_FAILURES_KEPT = 100
MAX_NAMES_SHOWN = 10


@dataclass
class IndexSummary:
    """
    What one run did.

    ``passages_written`` includes ``without_content``: passages with no content (see ``has_content``), stored without a
    vector, which is not a failure. ``skipped`` counts passages already stored or repeated in the input (same content
    and meta). ``failed`` counts unreadable documents (bad files, bad JSONL lines) and passages with content that the
    embedder returned without a vector (not written, so a re-run embeds them).
    """

    documents_read: int = 0
    passages_written: int = 0
    skipped: int = 0
    failed: int = 0
    without_content: int = 0
    failures: list[str] = field(default_factory=list)
    files_not_read: int = 0
    """Files in the input directories that are not .txt, .md or .jsonl (PDFs, images, ...)."""
    files_not_read_names: list[str] = field(default_factory=list)

    def line(self) -> str:
        """
        The summary in one line, with the files not read if any.

        :returns: The line.
        """
        line = (
            f"documents read: {self.documents_read}, passages written: {self.passages_written}, "
            f"skipped: {self.skipped}, failed: {self.failed}, without content: {self.without_content}"
        )
        if self.files_not_read:
            more = self.files_not_read - len(self.files_not_read_names)
            names = ", ".join(self.files_not_read_names) + (f" and {more} more" if more else "")
            line += f"; files not read (not .txt, .md or .jsonl): {self.files_not_read} ({names})"
        return line

    def skip_file(self, path: Path) -> None:
        """
        Count ``path`` as not read, keeping the first names.

        :param path: The file not read.
        """
        self.files_not_read += 1
        if len(self.files_not_read_names) < MAX_NAMES_SHOWN:
            self.files_not_read_names.append(str(path))

    def fail(self, count: int, reason: str) -> None:
        """
        Count ``count`` failures, keep the first reasons and log every one.

        :param count: How many documents or passages failed.
        :param reason: Why, naming the input.
        """
        self.failed += count
        if len(self.failures) < MAX_FAILURES_KEPT:  # all are logged; a bounded list keeps memory flat
            self.failures.append(reason)
        logger.warning("%s", reason)


def new_passages(passages: Sequence[Document], stored: Collection[str]) -> tuple[list[Document], int]:
    """
    The passages to embed.

    Those the target does not hold (``stored``), each id once (a repeated passage is written once) — and how many were
    skipped.
    """
    new = list({passage.id: passage for passage in passages if passage.id not in stored}.values())
    return new, len(passages) - len(new)


def embedded_passages(embedded: Sequence[Document], *, vectors_expected: bool = True) -> tuple[list[Document], int]:
    """
    The passages to write, and how many failed.

    A passage with content that came back without a vector is not written (so a re-run embeds it).
    ``vectors_expected=False`` when the cluster encodes at ingest: none fails here.
    """
    kept = [p for p in embedded if not (vectors_expected and p.embedding is None and has_content(p))]
    return kept, len(embedded) - len(kept)
