"""
Passages looked up and written with opensearch-py's bulk helpers, item by item accounted for.

For a writer with its own client (a Ray worker, a Spark partition) instead of the store's ``write_documents``, which
fails a whole batch for one item.

The actions are the store's own (``index`` operations with ``_id``: ``cluster.document_store.index_actions``), so a
retry overwrites and never duplicates. Items rejected for load (429) or by a server error (5xx), and whole requests
that fail transiently, are retried under the package's ``RetryPolicy`` (backoff with jitter, a deadline); an item
the cluster refuses for good (a mapping conflict) is not retried. What is still not written is returned by id.
The "already stored?" check is one ``_mget`` without sources: cheap, and real-time (it sees unrefreshed writes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from haystack import Document
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore
from opensearchpy import helpers

from opensearch_pretrained_haystack.cluster.document_store import connected_client, index_actions, index_name
from opensearch_pretrained_haystack.cluster.errors import MLCommonsError, ThrottledError
from opensearch_pretrained_haystack.cluster.retry import RetryPolicy, call_with_retries
from opensearch_pretrained_haystack.indices.sparse import NO_PIPELINE, SparseFieldType, sparse_bulk_action
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseVocabulary

logger = logging.getLogger(__name__)
SHOWN_IDS = 20


@dataclass
class BulkOutcome:
    """How many passages were written, and which were not (with the last reason)."""

    written: int = 0
    not_written: list[str] = field(default_factory=list)
    reason: str = ""

    def failure(self) -> str:
        """The report line for ``not_written``, naming the ids as the local engine does."""
        ids = self.not_written
        shown = ", ".join(ids[:SHOWN_IDS]) + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
        return f"{len(ids)} passage(s) not written ({shown}): {self.reason}"


def ids_in_index(store: OpenSearchDocumentStore, ids: list[str], policy: RetryPolicy) -> set[str]:
    """
    Which of ``ids`` the index holds.

    Not knowing (after retries) costs embeddings, never duplicates: writes overwrite, so a failed check answers "none".
    """
    if not ids:
        return set()
    client = connected_client(store, policy)
    try:
        response = call_with_retries(
            lambda: client.mget(index=index_name(store), body={"ids": ids}, _source=False),
            policy,
            what=f"Looking up {len(ids)} passage ids in {index_name(store)!r}",
        )
    except MLCommonsError as error:
        logger.warning("%s; the %d passages are embedded and written again.", error, len(ids))
        return set()
    return {doc["_id"] for doc in response["docs"] if doc.get("found")}


def bulk_write(
    store: OpenSearchDocumentStore,
    documents: list[Document],
    policy: RetryPolicy,
    *,
    sparse: tuple[SparseFieldType, SparseVocabulary] | None = None,
) -> BulkOutcome:
    """
    Write ``documents`` to ``store``'s index with ``_bulk`` (no refresh: the job refreshes once at its end).

    With ``sparse`` (the index's sparse field type and the encoder's vocabulary), the documents' sparse embeddings
    are written into the sparse field, past any default ingest pipeline (they are encoded already).
    """
    outcome = BulkOutcome()
    if not documents:
        return outcome
    client = connected_client(store, policy)
    actions = (
        index_actions(store, documents)
        if sparse is None
        else [sparse_bulk_action(document, *sparse) for document in documents]
    )
    pending: dict[str, dict[str, Any]] = {action["_id"]: action for action in actions}
    options: dict[str, Any] = {} if sparse is None else {"pipeline": NO_PIPELINE}
    refused: list[str] = []

    def attempt() -> None:
        retryable = ""
        for ok, item in helpers.streaming_bulk(
            client, list(pending.values()), index=index_name(store), raise_on_error=False, max_retries=0, **options
        ):
            result = next(iter(item.values()))
            status = int(result.get("status", 0))
            if ok:
                outcome.written += 1
            elif status == 429 or status >= 500:
                retryable = f"{status} {result.get('error')}"
                continue
            else:
                refused.append(result["_id"])
                outcome.reason = f"{status} {result.get('error')}"
            del pending[result["_id"]]
        if pending:
            raise ThrottledError(f"The cluster rejected {len(pending)} passage(s): {retryable[:300]}", status=429)

    try:
        call_with_retries(attempt, policy, what=f"Writing {len(documents)} passages to {index_name(store)!r}")
    except MLCommonsError as error:
        outcome.reason = str(error)
    outcome.not_written = refused + list(pending)
    return outcome
