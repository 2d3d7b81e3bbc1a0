"""
BM25 text analysis, defined once for the embedded store (SQLite FTS5) and the OpenSearch index.

Each analyzer has two halves that cut and normalize text alike, so a prototype on the embedded store ranks by BM25
as the cluster does:

- ``english`` (the default): words as FTS5's ``unicode61`` tokenizer cuts them (letters, digits and private-use
  characters; everything else separates), lowercased, stemmed by Porter's algorithm (FTS5's ``porter`` tokenizer;
  Lucene's ``porter_stem`` filter), and Lucene's English stop words dropped from queries only, so a passage's
  length counts the same words in both engines.
- ``plain``: the same words, lowercased, neither stemmed nor stopped (the embedded store's analysis before
  ``english``; stores written then keep it).

In OpenSearch the words are cut by a ``pattern`` tokenizer on what ``unicode61`` treats as a separator, not by the
``standard`` tokenizer (which keeps ``3.5`` or ``don't`` whole where FTS5 splits them). What still differs between
the engines is BM25 itself (FTS5's idf is ``log((N - n + 0.5) / (n + 0.5))``, Lucene's adds 1 inside the log and
stores lengths in one byte) and idf per shard: ``benchmarks/bm25_parity.py`` measures the rank overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, which the ``stop`` filter's ``_english_`` list names.
ENGLISH_STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
))  # fmt: skip
# unicode61's token characters (its default categories "L* N* Co"); everything else separates words.
_SEPARATORS = r"[^\p{L}\p{N}\p{Co}]+"
# The same words in Python (letters and digits: str.isalnum; private use is rare enough to fall to the separators).
_WORD = re.compile(r"[^\W_]+")
_TOKENIZER = "opensearch_pretrained_unicode61"
_STOP_FILTER = "opensearch_pretrained_english_stop"


@dataclass(frozen=True)
class Analyzer:
    """One BM25 analysis: its FTS5 tokenizer, the stop words left out of queries, and its OpenSearch filters."""

    name: str
    fts5_tokenizer: str
    query_stop_words: frozenset[str]
    token_filters: tuple[str, ...]

    @property
    def index_analyzer(self) -> str:
        """The OpenSearch analyzer that analyzes stored text."""
        return f"opensearch_pretrained_{self.name}"

    @property
    def search_analyzer(self) -> str:
        """The OpenSearch analyzer that analyzes query text (the index analyzer, less the query's stop words)."""
        return f"{self.index_analyzer}_query" if self.query_stop_words else self.index_analyzer

    def query_terms(self, query: str) -> list[str]:
        """The query's words as the store's BM25 matches them (FTS5 stems each), stop words left out."""
        return [word for word in _WORD.findall(query) if word.lower() not in self.query_stop_words]

    def text_mapping(self) -> dict[str, Any]:
        """The mapping of an OpenSearch ``text`` field analyzed as the store analyzes text."""
        return {"type": "text", "analyzer": self.index_analyzer, "search_analyzer": self.search_analyzer}

    def index_settings(self) -> dict[str, Any]:
        """The ``analysis`` index settings that define ``text_mapping``'s analyzers."""
        analyzers = {self.index_analyzer: _custom(self.token_filters)}
        filters: dict[str, Any] = {}
        if self.query_stop_words:
            filters[_STOP_FILTER] = {"type": "stop", "stopwords": sorted(self.query_stop_words)}
            # Stop words go before the stemmer, as in Lucene's EnglishAnalyzer.
            analyzers[self.search_analyzer] = _custom(("lowercase", _STOP_FILTER, *self.token_filters[1:]))
        analysis: dict[str, Any] = {
            "tokenizer": {_TOKENIZER: {"type": "pattern", "pattern": _SEPARATORS}},
            "analyzer": analyzers,
        }
        if filters:
            analysis["filter"] = filters
        return {"analysis": analysis}


def _custom(filters: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "custom", "tokenizer": _TOKENIZER, "filter": list(filters)}


ANALYZERS = {
    "english": Analyzer(
        "english", "porter unicode61 remove_diacritics 0", ENGLISH_STOP_WORDS, ("lowercase", "porter_stem")
    ),
    "plain": Analyzer("plain", "unicode61 remove_diacritics 0", frozenset(), ("lowercase",)),
}
DEFAULT_ANALYZER = "english"


def get_analyzer(name: str) -> Analyzer:
    """The analyzer called ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    try:
        return ANALYZERS[name]
    except KeyError:
        raise ValueError(f"Unknown BM25 analyzer {name!r}; use one of {', '.join(ANALYZERS)}.") from None


def analyzer_of_fts5(tokenizer: str) -> Analyzer | None:
    """The analyzer whose FTS5 tokenizer is ``tokenizer`` (as a store's schema spells it), or None."""
    wanted = tokenizer.split()
    return next((analyzer for analyzer in ANALYZERS.values() if analyzer.fts5_tokenizer.split() == wanted), None)
