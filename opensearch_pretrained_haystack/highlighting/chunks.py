"""
The model's inputs for one (question, context) pair.

512-token chunks with stride 128, and per token the sentence it belongs to, as ML Commons 3.x builds them
(`../shared/docs/semantic-highlighter.md` §4.2 steps 3–4).

The tokenizer (the artifact's tokenizer.json) cuts `[CLS] question [SEP] context-slice [SEP]` chunks; chunk 0 is
the encoding and chunk *k* its *k*-th overflow. `sentence_ids[t]` is the sentence of context token *t*, or -100.

ML Commons maps a token to a sentence through the *tokenizer's* word index looked up in a *whitespace* word list
(`word_sentence_ids`). The two word lists differ (the tokenizer splits punctuation and CJK characters), so the map
drifts, and on long punctuation-rich or unspaced text a whole chunk can end up without any mapped token; the traced
module then fails on `min()` of an empty tensor and the node answers HTTP 500. `encode_pair` reproduces that map
(so answers equal the node's), and only for a pair where it leaves a chunk empty maps every token by its character
offset into the true sentence spans instead: the correct map, and an answer where the node has none.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

from tokenizers import Encoding, Tokenizer

from opensearch_pretrained_haystack.families.sentence_highlighting import MAX_TOKENS, STRIDE
from opensearch_pretrained_haystack.highlighting.sentences import Sentence, segment, word_sentence_ids

IGNORED = -100
"""The sentence id of question, special and unmapped tokens."""
Mapping = Literal["words", "offsets"]


@dataclass(frozen=True)
class Chunk:
    """One model call's inputs (batch dimension left out)."""

    input_ids: list[int]
    attention_mask: list[int]
    token_type_ids: list[int]
    sentence_ids: list[int]


@dataclass(frozen=True)
class EncodedPair:
    """A pair's sentences and chunks, and which token-to-sentence map built them."""

    sentences: list[Sentence]
    chunks: list[Chunk]
    mapping: Mapping
    """"words": ML Commons' own map (the node's answer); "offsets": the correct map, used where ML Commons' fails."""


def highlighter_tokenizer(tokenizer_file: str) -> Tokenizer:
    """
    The artifact's tokenizer set up as ML Commons' translator sets it.

    512 tokens, stride 128, only the context truncated, no padding.
    """
    tokenizer = Tokenizer.from_file(tokenizer_file)
    tokenizer.enable_truncation(MAX_TOKENS, stride=STRIDE, strategy="only_second")
    tokenizer.no_padding()
    return tokenizer


def encode_pair(tokenizer: Tokenizer, question: str, context: str) -> EncodedPair:
    """
    The chunks of one pair. A context whose sentences are all empty (only whitespace) has no chunk.

    :raises ValueError: If the question leaves no room for the context (about 380 tokens or more).
    """
    sentences = segment(context)
    if not any(s.text for s in sentences):
        return EncodedPair([], [], "offsets")
    try:
        encoding = tokenizer.encode(question, context)
    except Exception as error:  # the Rust tokenizer's truncation error, e.g. the stride reaches the context budget
        msg = f"The question is too long to highlight with {MAX_TOKENS}-token chunks and stride {STRIDE} ({error})."
        raise ValueError(msg) from error
    encodings = [encoding, *encoding.overflowing]
    words = word_sentence_ids(sentences, context)
    chunks = [_chunk(e, _word_mapped(e, words)) for e in encodings]
    if all(any(i != IGNORED for i in c.sentence_ids) for c in chunks):
        return EncodedPair(sentences, chunks, "words")
    starts = [s.start for s in sentences]
    return EncodedPair(sentences, [_chunk(e, _offset_mapped(e, starts)) for e in encodings], "offsets")


def _chunk(encoding: Encoding, sentence_ids: list[int]) -> Chunk:
    return Chunk(list(encoding.ids), list(encoding.attention_mask), list(encoding.type_ids), sentence_ids)


def _word_mapped(encoding: Encoding, words: list[int]) -> list[int]:
    """
    ML Commons' `createSentenceIdsArray`.

    From the first context token on, the whitespace-word map at the tokenizer's word index.
    """
    type_ids = encoding.type_ids
    context_start = type_ids.index(1) if 1 in type_ids else 0
    ids = [IGNORED] * len(type_ids)
    for t, word in enumerate(encoding.word_ids[context_start:], start=context_start):
        if word is not None and word < len(words):
            ids[t] = words[word]
    return ids


def _offset_mapped(encoding: Encoding, starts: list[int]) -> list[int]:
    """Each context token's sentence by the token's first character (offsets are Python indices into the context)."""
    ids = [IGNORED] * len(encoding.ids)
    for t, (sequence, word, (first, _)) in enumerate(
        zip(encoding.sequence_ids, encoding.word_ids, encoding.offsets, strict=True)
    ):
        if sequence == 1 and word is not None:
            ids[t] = bisect.bisect_right(starts, first) - 1
    return ids
