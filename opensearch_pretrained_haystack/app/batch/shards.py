"""
The batch job's input cut into shards that any worker can read on its own.

A text file, or a byte range of a JSONL file holding a fixed number of documents.

A distributed engine hands shards, not documents, to its workers, so that reading scales with them and the driver
never holds the corpus. A shard is read with ``sources``' own parsing, so documents, ids and the ``file:line: why``
reports are those of the local engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from haystack import Document

from opensearch_pretrained_haystack.app.batch.sources import (
    JSONL_SUFFIX,
    FailureLog,
    SkippedFiles,
    bounded_lines,
    is_gzip,
    jsonl_lines,
    read_documents,
    source_files,
)


@dataclass(frozen=True)
class Shard:
    """
    One shard of the input: a whole file, or a byte range of JSONL lines.

    ``path`` whole (``end`` None: a text file, or a file ``read_documents`` reports as unreadable), or the JSONL lines
    from byte ``start`` to byte ``end``, the first of them line number ``first_line``.
    """

    path: str
    documents: int = 1
    start: int = 0
    end: int | None = None
    first_line: int = 1


def plan_shards(
    sources: Sequence[str | Path], *, documents_per_shard: int, skipped: SkippedFiles | None = None
) -> Iterator[Shard]:
    """
    The shards of ``sources``, in reading order; together they hold every document exactly once.

    JSONL files are scanned once for line offsets (as ``count_documents`` counts lines), nothing is parsed. Files of a
    directory that are not read are reported to ``skipped``.
    """
    for path in source_files(sources, skipped):
        if path.suffix == JSONL_SUFFIX and path.is_file() and not is_gzip(path):
            yield from _jsonl_shards(path, documents_per_shard)
        else:
            yield Shard(str(path))


def _jsonl_shards(path: Path, per_shard: int) -> Iterator[Shard]:
    offset = start = documents = 0
    first_line = 1
    with open(path, "rb") as file:
        for number, (raw, length) in enumerate(bounded_lines(file), start=1):
            if documents == 0:
                start, first_line = offset, number
            offset += length
            documents += bool(raw.strip())
            if documents == per_shard:
                yield Shard(str(path), documents, start, offset, first_line)
                documents = 0
    if documents:
        yield Shard(str(path), documents, start, offset, first_line)


def read_shard(shard: Shard, summary: FailureLog) -> Iterator[Document]:
    """The documents of ``shard``; what cannot be read is reported to ``summary`` as ``read_documents`` does."""
    if shard.end is None:
        yield from read_documents([shard.path], summary)
        return
    path = Path(shard.path)
    try:
        with open(path, "rb") as file:
            file.seek(shard.start)
            lines = bounded_lines(file, shard.end)
            yield from jsonl_lines(path, enumerate(lines, start=shard.first_line), summary)
    except OSError as error:
        summary.fail(shard.documents, f"{path}: {error.strerror or error}")
