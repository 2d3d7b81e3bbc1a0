"""
Sentence segmentation exactly as ML Commons 3.x does it, with each sentence's true span beside it.

Source: `../shared/docs/semantic-highlighter.md` §4.2 steps 1–2 (ML Commons `DefaultSentenceSegmenter` and
`SentenceHighlightingQATranslator.createWordLevelSentenceIds`). Java regex semantics: `\\w`, `\\s` and `\\b` are
ASCII (Python's `re.ASCII`), `.` stops at Java's line terminators, and `split` drops trailing empty strings.

ML Commons splits a *rewritten* text: each abbreviation `Dr.` + whitespace becomes `Dr@@@ `, and `."` becomes `".`.
It then looks each piece up in the original text, so after a rewrite its `text` holds "@@@" and its offsets drift
(they can even pass the end of the text). Every `Sentence` here carries both: the fields ML Commons computes
(`node_*`, UTF-16 offsets, what its predict returns), and the true span in the original text (`start`, `end`,
Python string indices, and `text` read from there). The two agree whenever no rewrite touched the text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

JAVA_TRIM = "".join(chr(code) for code in range(0x21))
"""Java's `String.trim` strips every code point up to U+0020, not Unicode whitespace."""
ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Sr.", "Jr.", "Ltd.", "Co.", "Inc.", "i.e.", "e.g.", "etc.",
                 "vs.", "fig.")  # fmt: skip
"""`SentenceSegmentationConfig.getDefault()`'s abbreviations, in the order they are rewritten."""
_JAVA_DOT = r"[^\n\r\u0085\u2028\u2029]"
SENTENCE_BREAK = re.compile(rf"(?<!\w\.\w{_JAVA_DOT})(?<!\w[A-Z]\.)(?<=[.!?])(?<!\w[A-Z]\.[A-Z]\.)\s+", re.ASCII)
_ABBREVIATION_PATTERNS = [(re.compile(rf"\b{re.escape(a)}\s+", re.ASCII), a.replace(".", "@@@") + " ")
                          for a in ABBREVIATIONS]  # fmt: skip
_QUOTE = re.compile(r'([.!?])"')
_WHITESPACE = re.compile(r"\s+", re.ASCII)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a context: where it truly is, and what ML Commons reports for it."""

    position: int
    start: int
    """Python index in the context where the sentence's piece starts (leading whitespace of the context included,
    as ML Commons does)."""
    end: int
    text: str
    """`context[start:end]` without the surrounding characters Java's trim removes."""
    node_start: int
    """ML Commons' start, in UTF-16 code units; wrong after an abbreviation rewrite."""
    node_end: int
    node_text: str
    """ML Commons' text: the rewritten piece (may hold "@@@" or a moved quote)."""


def segment(context: str) -> list[Sentence]:
    """The context's sentences in order; `position` is the index ML Commons' model and predict use."""
    processed, origin = _rewritten(context)
    units = utf16_units(context)
    sentences: list[Sentence] = []
    cursor = 0  # in UTF-16 units, as Java's indexOf
    for position, (first, last) in enumerate(_pieces(processed)):
        piece = utf16_units(processed[first:last])
        node_start = units.find(piece, cursor)
        if node_start == -1:  # ML Commons' findApproximatePosition: the first 10 code units, else the cursor
            node_start = units.find(piece[:10], cursor) if piece else -1
            node_start = cursor if node_start == -1 else node_start
        cursor = node_start + len(piece)
        start, end = origin[first], origin[last]
        sentences.append(
            Sentence(
                position=position,
                start=start,
                end=end,
                text=context[start:end].strip(JAVA_TRIM),
                node_start=node_start,
                node_end=cursor,
                node_text=processed[first:last].strip(JAVA_TRIM),
            )
        )
    return sentences


def word_sentence_ids(sentences: list[Sentence], context: str) -> list[int]:
    """
    ML Commons' sentence index per whitespace word of the context (`createWordLevelSentenceIds`).

    Word *i* is assumed to start at the sum of the earlier words' lengths plus *i* (single spaces), and maps to the
    last sentence whose ML Commons span holds it, else 0. The tokenizer's words are not these words, which is why
    ML Commons' token-to-sentence map drifts (see `chunks.py`).
    """
    words = java_split(_WHITESPACE, context)
    starts = [s.node_start for s in sentences]
    ids = []
    word_start = 0
    for word in words:
        word_end = word_start + utf16_length(word)
        found = 0
        candidate = bisect.bisect_right(starts, word_start) - 1
        while candidate >= 0 and sentences[candidate].node_end >= word_start:
            if word_end <= sentences[candidate].node_end:
                found = candidate
                break
            candidate -= 1
        ids.append(found)
        word_start = word_end + 1
    return ids


def java_split(pattern: re.Pattern[str], text: str) -> list[str]:
    """Java's `Pattern.split(text)`: trailing empty strings dropped (so all-separator text gives `[]`)."""
    parts = pattern.split(text)
    while parts and not parts[-1]:
        parts.pop()
    return parts if pattern.search(text) else [text]


def utf16_units(text: str) -> str:
    """`text` with one character per UTF-16 code unit (astral characters as surrogate pairs): Java's indexing."""
    if text.isascii() or max(text) < "\U00010000":
        return text
    raw = text.encode("utf-16-le")
    return "".join(chr(raw[i] | raw[i + 1] << 8) for i in range(0, len(raw), 2))


def utf16_length(text: str) -> int:
    """Java's `String.length()` of `text`."""
    return len(text) + sum(1 for char in text if char >= "\U00010000")


def _rewritten(context: str) -> tuple[str, list[int]]:
    """
    ML Commons' rewritten text, and for each of its positions (and its end) the position in `context`.

    Positions inside a rewritten run map to the run's start; sentence breaks never fall there (a break needs
    `.`, `!` or `?` before whitespace, and a rewrite leaves "@@@ " or a quote last).
    """
    text, origin = context, list(range(len(context) + 1))
    for pattern, replacement in _ABBREVIATION_PATTERNS:
        text, origin = _substitute(pattern, lambda _, r=replacement: r, text, origin)  # type: ignore[misc]
    return _substitute(_QUOTE, lambda match: '"' + match[1], text, origin)


def _substitute(
    pattern: re.Pattern[str], replacement: Callable[[re.Match[str]], str], text: str, origin: list[int]
) -> tuple[str, list[int]]:
    parts: list[str] = []
    mapped: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        new = replacement(match)
        parts += [text[last : match.start()], new]
        mapped += origin[last : match.start()] + [origin[match.start()]] * len(new)
        last = match.end()
    if not parts:
        return text, origin
    parts.append(text[last:])
    mapped += origin[last:]
    return "".join(parts), mapped


def _pieces(text: str) -> list[tuple[int, int]]:
    """The `(first, last)` bounds of Java's `SENTENCE_PATTERN.split(text)` pieces."""
    bounds, first = [], 0
    for match in SENTENCE_BREAK.finditer(text):
        bounds.append((first, match.start()))
        first = match.end()
    bounds.append((first, len(text)))
    while len(bounds) > 1 and bounds[-1][0] == bounds[-1][1]:
        bounds.pop()
    return bounds
