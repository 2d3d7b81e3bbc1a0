"""
What the local and the Ray engine share, so both count, de-duplicate, write and fail alike.

The chunk sizes, the run's ``IndexSummary`` (a Ray worker's share of it too), which passages to embed
(``new_passages``), which embedded passages to write (``embedded_passages``) and how a write is counted
(``write_passages``, into a ``Sink``: the embedded store, or ``OpenSearchSink`` for both engines). It imports neither
engine: each engine imports it, and the ``index`` command chooses the engine (``job.index_sources``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from haystack import Document

from opensearch_pretrained_haystack.app.batch.targets import PassagesNotWrittenError, Sink
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

    A Ray worker counts its share in a ``quiet`` summary (nothing logged there: Ray would forward every warning to
    the driver, which logs them once when it ``add``s the shares).
    """

    documents_read: int = 0
    passages_written: int = 0
    skipped: int = 0
    failed: int = 0
    without_content: int = 0
    failures: list[str] = field(default_factory=list)
    """The reasons of the first ``MAX_FAILURES_KEPT`` failures (all are logged)."""
    failure_counts: list[int] = field(default_factory=list)
    """How many documents or passages each reason of ``failures`` stands for."""
    unlisted: int = 0
    """Failures counted in ``failed`` whose reason is not in ``failures`` (it was full)."""
    quiet: bool = False
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
        self._note(count, reason)

    def add(self, share: IndexSummary) -> None:
        """Count a worker's share of the run in this summary, and log its failures (unless this one is ``quiet``)."""
        for name in ("documents_read", "passages_written", "skipped", "failed", "without_content"):
            setattr(self, name, getattr(self, name) + getattr(share, name))
        for count, reason in zip(share.failure_counts, share.failures, strict=True):
            self._note(count, reason)
        if share.unlisted:
            self._note(share.unlisted, f"{share.unlisted} more failure(s), not listed")

    def _note(self, count: int, reason: str) -> None:
        if len(self.failures) < MAX_FAILURES_KEPT:  # a bounded list keeps memory flat
            self.failures.append(reason)
            self.failure_counts.append(count)
        else:
            self.unlisted += count
        if not self.quiet:
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


def write_passages(sink: Sink, passages: list[Document], summary: IndexSummary) -> None:
    """
    Write embedded ``passages`` and count them in ``summary``.

    Each is written (with or without content), stored meanwhile by another run (skipped), or not written after the
    sink's retries (failed, by id; the run goes on).

    :param sink: Where the passages go.
    :param passages: Embedded passages.
    :param summary: The run's summary (or a Ray worker's share of it).
    """
    summary.without_content += sum(1 for doc in passages if not has_content(doc))
    try:
        written = sink.write(passages)
        summary.passages_written += written
        summary.skipped += len(passages) - written
    except PassagesNotWrittenError as error:
        summary.passages_written += error.written
        summary.fail(len(error.ids), str(error))
