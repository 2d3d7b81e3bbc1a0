"""
The batch job's input: .txt/.md files (one document each) and .jsonl files (one document per line).

Documents are read lazily, so a corpus of any size streams through. A missing or unreadable file and each bad
line is reported once (``file:line: why``) and counted as failed; the rest is read. No input is held beyond
``MAX_DOCUMENT_BYTES`` (a longer line or file is reported, never read whole) or parsed deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from haystack import Document

from opensearch_pretrained_haystack.text_analysis import TITLE_FIELD

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIX = ".jsonl"
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
# One document (a text file or a JSONL line) at most: a larger one is reported, not read (its passages would be
# streamed, but its text is held whole). 64 MiB of text is some 100,000 passages.
MAX_DOCUMENT_BYTES = 64 * 2**20
# Nesting of a JSONL record (its object counts as 1): OpenSearch maps objects at most 20 deep, and a deeper value
# would exhaust Python's recursion in every step that walks it (hashing, JSON writing).
MAX_DEPTH = 32


class FailureLog(Protocol):
    """Where reading reports what it could not read (``IndexSummary``)."""

    def fail(self, count: int, reason: str) -> None:
        """
        Report ``count`` documents that could not be read.

        :param count: How many.
        :param reason: Why, naming the input.
        """
        ...


class SkippedFiles(Protocol):
    """Where walking a directory reports the files it does not read (``IndexSummary``)."""

    def skip_file(self, path: Path) -> None:
        """
        Report a file that is not read.

        :param path: The file.
        """
        ...


def source_files(sources: Sequence[str | Path], skipped: SkippedFiles | None = None) -> Iterator[Path]:
    """
    The files named by ``sources``.

    Directories are walked (sorted, so runs repeat exactly), and their other files (PDFs, images, ...) are reported to
    ``skipped``. A source that does not exist is passed on, for ``read_documents`` to report as failed.
    """
    for source in map(Path, sources):
        if source.is_dir():
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                if path.suffix in (*TEXT_SUFFIXES, JSONL_SUFFIX):
                    yield path
                elif skipped is not None:
                    skipped.skip_file(path)
        elif source.suffix in (*TEXT_SUFFIXES, JSONL_SUFFIX) or not source.exists():
            yield source
        else:
            raise ValueError(f"{source}: not a directory, .txt, .md or .jsonl file.")


class BytesRead:
    """
    How many bytes of input ``read_documents`` has read so far.

    It is the position of a progress bar whose total is ``input_bytes``, so the input is read once, not counted first.
    """

    def __init__(self) -> None:
        self.count = 0

    def add(self, size: int) -> None:
        """
        Count ``size`` more bytes read.

        :param size: Bytes of a file or line just read.
        """
        self.count += size


def input_bytes(sources: Sequence[str | Path]) -> int:
    """The size of every file ``read_documents`` reads (from the file system, nothing is read)."""
    return sum(path.stat().st_size for path in source_files(sources) if path.is_file())


def count_documents(sources: Sequence[str | Path]) -> int:
    """
    How many documents ``read_documents`` will yield, so the progress bar can show the remaining time.

    One per text file, one per non-blank JSONL line; it only counts lines.
    """
    total = 0
    for path in source_files(sources):
        if path.suffix == JSONL_SUFFIX and path.is_file() and not is_gzip(path):
            with open(path, "rb") as file:
                total += sum(1 for line, _ in bounded_lines(file) if line.strip())
        else:
            total += 1
    return total


def read_documents(
    sources: Sequence[str | Path],
    summary: FailureLog,
    skipped: SkippedFiles | None = None,
    *,
    bytes_read: BytesRead | None = None,
) -> Iterator[Document]:
    """
    Documents from .txt/.md files and .jsonl files.

    A .txt/.md file gives one document, as Haystack's ``TextFileToDocument`` makes it; a .jsonl file gives one per line
    (``content``, optional ``meta`` and ``id``). A missing or unreadable file and each bad line is reported
    (``file:line: why``) and counted as failed; the rest is read. Files of a directory that are none of these are
    reported to ``skipped``; ``bytes_read`` is told the size of each file or line as it is read.
    """
    for path in source_files(sources, skipped):
        try:
            if not path.exists():
                summary.fail(1, f"{path}: does not exist")
            elif path.suffix != JSONL_SUFFIX:
                if bytes_read is not None:
                    bytes_read.add(path.stat().st_size)
                yield _text_document(path)
            elif is_gzip(path):
                if bytes_read is not None:
                    bytes_read.add(path.stat().st_size)
                summary.fail(1, f"{path}: is gzip-compressed, not JSONL text: decompress it first")
            else:
                yield from _jsonl_documents(path, summary, bytes_read)
        except (OSError, ValueError) as error:
            summary.fail(1, f"{path}: {getattr(error, 'strerror', None) or error}")


def _text_document(path: Path) -> Document:
    """
    The document ``TextFileToDocument`` makes of ``path`` (same content and meta, so the same id).

    With a reason when the file is not text, instead of the converter's silent skip.
    """
    with open(path, "rb") as file:
        data = file.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"larger than {MAX_DOCUMENT_BYTES} bytes, the most one document may hold: split the file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    return Document(content=text, meta={"file_path": path.name})


def _jsonl_documents(path: Path, summary: FailureLog, bytes_read: BytesRead | None) -> Iterator[Document]:
    with open(path, "rb") as file:
        lines = bounded_lines(file)
        if bytes_read is not None:
            lines = _counted(lines, bytes_read)
        yield from jsonl_lines(path, enumerate(lines, start=1), summary)


def _counted(lines: Iterator[tuple[bytes, int]], bytes_read: BytesRead) -> Iterator[tuple[bytes, int]]:
    for line, length in lines:
        bytes_read.add(length)
        yield line, length


def bounded_lines(file: BinaryIO, end: int | None = None) -> Iterator[tuple[bytes, int]]:
    """
    Each line of ``file`` from where it stands (up to byte ``end``) as (bytes, length in the file).

    A line longer than ``MAX_DOCUMENT_BYTES`` gives only its first ``MAX_DOCUMENT_BYTES + 1`` bytes, the rest is skipped
    unread.
    """
    position = file.tell()
    while (end is None or position < end) and (line := file.readline(MAX_DOCUMENT_BYTES + 1)):
        length = len(line)
        if length > MAX_DOCUMENT_BYTES and not line.endswith(b"\n"):
            while rest := file.readline(2**20):
                length += len(rest)
                if rest.endswith(b"\n"):
                    break
        position += length
        yield line, length


def jsonl_lines(path: Path, lines: Iterable[tuple[int, tuple[bytes, int]]], summary: FailureLog) -> Iterator[Document]:
    """
    The documents of some numbered lines (from ``bounded_lines``) of the JSONL file ``path``.

    All of it, or a shard of it; each bad line is reported as ``path:line: why`` and counted as failed.
    """
    for number, (raw, length) in lines:
        try:
            if length > MAX_DOCUMENT_BYTES:
                raise ValueError(f"a line of {length} bytes, more than the {MAX_DOCUMENT_BYTES} one document may hold")
            if number == 1 and raw.startswith(UTF8_BOM):  # what Windows editors write first
                raw = raw[len(UTF8_BOM) :]
            line = raw.decode("utf-8")
            if line.strip():
                yield jsonl_document(line)
        except UnicodeDecodeError as error:
            summary.fail(1, f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start})")
        except ValueError as error:
            summary.fail(1, f"{path}:{number}: {error}")


def is_gzip(path: Path) -> bool:
    """
    Whether ``path`` starts with the gzip magic bytes.

    :param path: The file.
    :returns: True for a gzip file.
    """
    with open(path, "rb") as file:
        return file.read(2) == GZIP_MAGIC


def jsonl_document(line: str) -> Document:
    """
    One JSONL record as a Document.

    A string or integer ``id`` is kept as given (without one, the id is a hash of content and meta); anything that the
    store or the tokenizer could not hold exactly is refused.
    """
    too_deep = f"the record nests deeper than {MAX_DEPTH} levels of objects and arrays"
    try:
        record = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # nested past Python's own limit: deeper than MAX_DEPTH too
        raise ValueError(too_deep) from None
    if _depth(record) > MAX_DEPTH:
        raise ValueError(too_deep)
    if isinstance(record, dict) and "content" not in record and "_id" in record and isinstance(record.get("text"), str):
        return beir_document(record)
    if not isinstance(record, dict) or not isinstance(record.get("content"), str):
        raise ValueError(
            'each line must be a JSON object with a string "content" (and optional "meta", "id"), or a BEIR '
            'corpus record with "_id" and a string "text" (and optional "title")'
        )
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise ValueError('"meta" must be a JSON object')
    _require_text(record)
    return Document(id=_record_id(record.get("id")), content=record["content"], meta=meta)


def beir_document(record: dict[str, Any]) -> Document:
    """
    A BEIR corpus record (``_id``, ``text``, optional ``title``) as ``evaluate`` indexes it.

    The BEIR id, and title and text joined by a space, as BEIR's dense models read them. The title also goes to
    ``meta["title"]``, which BM25 reads as a field of every passage (the store's FTS5 ``title`` column, the
    index's ``title`` keyword copied into ``content``).
    """
    title = record.get("title") or ""
    if not isinstance(title, str):
        raise ValueError(f'"title" must be a string, not {json.dumps(title)}')
    _require_text(record)
    text = " ".join(part for part in (title, record["text"]) if part)
    return Document(id=_record_id(record.get("_id")), content=text, meta={TITLE_FIELD: title} if title else {})


def _require_text(record: dict[str, Any]) -> None:
    for key, value in record.items():
        if found := _lone_surrogate(key) or _lone_surrogate(value):
            raise ValueError(f"{json.dumps(key)} holds a lone surrogate \\u{ord(found):04x}, which is not text")


def _record_id(value: Any) -> str:
    """The id as given; "" lets ``Document`` hash content and meta."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f'"id" must be a string or an integer, not {json.dumps(value)}')
    if value == "":
        raise ValueError('"id" must not be empty (leave it out to get an id made from content and meta)')
    return str(value)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows (the store could not write it back)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of the range of a float (the store could not write it back)")
    return value


def _lone_surrogate(value: Any) -> str | None:
    """
    The first lone surrogate in a parsed JSON value.

    An escaped one such as \\ud800 is valid JSON, but it is not text, and no tokenizer, file or cluster can hold it.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return value[error.start]
        return None
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else []
    return next((found for item in items if (found := _lone_surrogate(item))), None)


def _depth(value: Any) -> int:
    """
    How deep objects and arrays nest in a parsed JSON value (a scalar is 0).

    Walked without recursion and no further than ``MAX_DEPTH + 1``.
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
