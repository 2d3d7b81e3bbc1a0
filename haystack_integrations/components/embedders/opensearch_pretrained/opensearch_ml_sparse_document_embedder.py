"""`OpenSearchMLSparseDocumentEmbedder`: sparse embeddings of documents, computed by a model deployed in ML Commons."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from haystack import Document, component
from haystack.dataclasses import SparseEmbedding
from tqdm import tqdm

from haystack_integrations.components.embedders.opensearch_pretrained._sparse_remote_component import (
    OpenSearchMLSparseComponent,
)
from haystack_integrations.components.embedders.opensearch_pretrained._text_preparation import (
    check_documents,
    texts_to_embed,
)
from opensearch_pretrained_haystack.cluster.connection import HttpAuth
from opensearch_pretrained_haystack.cluster.remote_embedding import BatchOutcome
from opensearch_pretrained_haystack.cluster.remote_sparse import SparseMaps
from opensearch_pretrained_haystack.cluster.sparse_operations import SparseTask

logger = logging.getLogger(__name__)


@component
class OpenSearchMLSparseDocumentEmbedder(OpenSearchMLSparseComponent):
    """Sets `sparse_embedding` on documents, encoded in the cluster by a SPARSE_ENCODING model.

    Same text preparation, batching, concurrency, retries and failure policy as `OpenSearchMLDocumentEmbedder`:
    documents come back as new objects, in order; one without content comes back unchanged; with
    `raise_on_failure=False` a document whose batch failed (after retries) comes back without a sparse embedding.
    Both are counted in `meta`; no document is ever dropped.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.embedders.opensearch_pretrained import OpenSearchMLSparseDocumentEmbedder

    embedder = OpenSearchMLSparseDocumentEmbedder(hosts="http://localhost:9200", model_id=model_id)
    result = embedder.run(documents=[Document(content="OpenSearch is a search engine.")])
    ```
    """

    def __init__(
        self,
        hosts: str | list[str],
        model_id: str,
        *,
        task_type: SparseTask = "SPARSE_ENCODING",
        vocabulary: str = "opensearch-neural-sparse-tokenizer-v1",
        vocabulary_version: str | None = None,
        mirror: str | None = None,
        cache_dir: str | None = None,
        http_auth: HttpAuth = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 60.0,
        prefix: str = "",
        suffix: str = "",
        batch_size: int = 32,
        max_concurrency: int = 2,
        max_retries: int = 4,
        retry_deadline: float = 300.0,
        raise_on_failure: bool = False,
        progress_bar: bool = True,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
    ) -> None:
        """
        Create the component; the client and the vocabulary are loaded at `warm_up`, not here.

        :param hosts: Cluster URL(s), e.g. "https://localhost:9200".
        :param model_id: A deployed ML Commons sparse model (see `PretrainedModelUploader`).
        :param task_type: The model's function: "SPARSE_ENCODING" or "SPARSE_TOKENIZE".
        :param vocabulary: The sparse artifact (catalog alias, directory or zip) whose tokenizer.json maps tokens to
            `SparseEmbedding.indices`: the catalog's `vocabulary` of the model (tokenizer-v1 for English models).
        :param vocabulary_version: Its catalog version; None takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, to fetch the vocabulary offline.
        :param cache_dir: Where verified artifacts are kept.
        :param http_auth: A (user, password) pair of Secrets, an `AWSAuth`, or None.
        :param verify_certs: Verify the cluster's TLS certificate.
        :param ca_certs: Path to a CA bundle for the cluster's certificate.
        :param timeout: Per-request timeout in seconds.
        :param prefix: Text put before each document's text.
        :param suffix: Text put after each document's text.
        :param batch_size: Texts per predict call.
        :param max_concurrency: Predict calls in flight at once.
        :param max_retries: Retries per batch on 429, 502–504 and connection errors (exponential backoff, jitter).
        :param retry_deadline: Seconds one `run` may spend in total, retries included.
        :param raise_on_failure: Raise on a failed batch instead of returning its documents without embedding.
        :param progress_bar: Show a progress bar.
        :param meta_fields_to_embed: Meta fields whose values are encoded before the content.
        :param embedding_separator: Joins the meta values and the content.
        """
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        OpenSearchMLSparseComponent.__init__(
            self,
            hosts,
            model_id,
            task_type,
            vocabulary,
            vocabulary_version,
            mirror,
            cache_dir,
            http_auth,
            verify_certs,
            ca_certs,
            timeout,
            batch_size,
            max_concurrency,
            max_retries,
            retry_deadline,
        )
        self.prefix = prefix
        self.suffix = suffix
        self.raise_on_failure = raise_on_failure
        self.progress_bar = progress_bar
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Encode documents.

        :param documents: The documents; they are not modified.
        :returns: `documents` (new objects, in input order) and `meta` (model id and counts of embedded,
            failed and content-less documents).
        """
        to_embed, texts = self._prepare(documents)
        self.warm_up()
        with self._progress(len(texts)) as bar:
            outcomes = self._backend().embed_batches(texts, progress=bar.update)
        return self._assemble(documents, to_embed, outcomes)

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """Like `run`, with the async client and at most `max_concurrency` requests in flight."""
        to_embed, texts = self._prepare(documents)
        await self.warm_up_async()
        with self._progress(len(texts)) as bar:
            outcomes = await self._backend().embed_batches_async(texts, progress=bar.update)
        return self._assemble(documents, to_embed, outcomes)

    def _prepare(self, documents: list[Document]) -> tuple[list[int], list[str]]:
        check_documents(type(self).__name__, "OpenSearchMLSparseTextEmbedder", documents)
        return texts_to_embed(
            type(self).__name__,
            documents,
            prefix=self.prefix,
            suffix=self.suffix,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
        )

    def _progress(self, total: int) -> tqdm[Any]:
        return tqdm(total=total, desc="Sparse-encoding documents", unit="doc", disable=not self.progress_bar)

    def _assemble(
        self, documents: list[Document], to_embed: list[int], outcomes: list[BatchOutcome[SparseMaps]]
    ) -> dict[str, Any]:
        vocabulary = self._vocab()
        embeddings: dict[int, SparseEmbedding] = {}
        failed: list[int] = []
        for outcome in outcomes:
            positions = to_embed[outcome.start : outcome.stop]
            if outcome.error is not None:
                if self.raise_on_failure:
                    raise outcome.error
                failed.extend(positions)
                ids = ", ".join(documents[i].id for i in positions[:5])
                logger.warning(
                    "%s: a batch of %d documents failed (%s): %s",
                    type(self).__name__,
                    len(positions),
                    ids,
                    outcome.error,
                )
                continue
            for i, weights in zip(positions, outcome.vectors or [], strict=True):
                embeddings[i] = vocabulary.to_sparse_embedding(weights, source=f"document {documents[i].id}'s map")
        meta = {
            **self._meta(),
            "documents_embedded": len(embeddings),
            "documents_failed": len(failed),
            "documents_without_content": len(documents) - len(to_embed),
        }
        new_documents = [
            replace(doc, sparse_embedding=embeddings[i]) if i in embeddings else doc for i, doc in enumerate(documents)
        ]
        return {"documents": new_documents, "meta": meta}
