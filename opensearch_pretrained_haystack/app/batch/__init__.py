"""
The batch job behind ``index``, ``search`` and ``evaluate``, one responsibility per module.

- ``sources``: .txt/.md/.jsonl files read into Documents, and counted for the progress bar;
- ``targets``: where passages go (``Target``): the embedded store file or an OpenSearch index;
- ``remote_model``: the preflight of a cluster model named with ``--remote``;
- ``core``: what both engines share: the summary, de-duplication and failure accounting;
- ``job``: the streaming loop (``index_sources``) over ``pipelines.indexing_components`` and its summary;
- ``query``: ``search``, the best source documents for a query.
"""

from opensearch_pretrained_haystack.app.batch.core import PASSAGE_GROUP, READ_CHUNK, IndexSummary
from opensearch_pretrained_haystack.app.batch.job import index_documents, index_into, index_sources
from opensearch_pretrained_haystack.app.batch.query import search
from opensearch_pretrained_haystack.app.batch.remote_model import ENV_CREDENTIALS, check_remote_model
from opensearch_pretrained_haystack.app.batch.sources import (
    JSONL_SUFFIX,
    TEXT_SUFFIXES,
    count_documents,
    jsonl_document,
    read_documents,
    source_files,
)
from opensearch_pretrained_haystack.app.batch.targets import Sink, Target, load_store, open_sink

__all__ = [
    "ENV_CREDENTIALS",
    "JSONL_SUFFIX",
    "PASSAGE_GROUP",
    "READ_CHUNK",
    "TEXT_SUFFIXES",
    "IndexSummary",
    "Sink",
    "Target",
    "check_remote_model",
    "count_documents",
    "index_documents",
    "index_into",
    "index_sources",
    "jsonl_document",
    "load_store",
    "open_sink",
    "read_documents",
    "search",
    "source_files",
]
